-- Transforms of the talent scenarios (skills, enrollment rules, certifications, the
-- audit report), called as talent.NAME from YAML.

-- Whether the HRIS profile needs the skill earned: it lacks the skill, or holds it at a
-- lower level (a level is never lowered by an older signal).
function skill_needed(profile, skill, level)
  for _, s in ipairs(profile or {}) do
    if s.skill == skill then return (tonumber(s.level) or 0) < (tonumber(level) or 0) end
  end
  return true
end

local function applies(rule, e)
  local d = e.department   -- {id, name} in the HRIS's employee (a read-only bundle, not a table)
  local dept = e.department_id or (d ~= nil and d.id) or nil
  return (rule.department_id == nil or rule.department_id == dept)
     and (rule.title == nil or rule.title == e.title)
end

-- The enrollments the rules require that the LMS does not have: one {learner_external_id,
-- course_id, rule_id} per missing pair, for active employees with an active learner (an
-- employee without one is the reconciliation's business), in employee then rule order.
function missing_enrollments(employees, learners, rules, enrollments)
  local active = {}
  for _, l in ipairs(learners or {}) do
    if l.active and l.external_id then active[l.external_id] = true end
  end
  local have = {}
  for _, en in ipairs(enrollments or {}) do
    have[en.learner_external_id .. "\31" .. en.course_id] = true
  end
  local out = {}
  for _, e in ipairs(employees or {}) do
    if e.status == "active" and active[e.id] then
      for _, r in ipairs(rules or {}) do
        local k = e.id .. "\31" .. r.course_id
        if applies(r, e) and not have[k] then
          have[k] = true   -- two rules asking for one course enroll once
          out[#out + 1] = { learner_external_id = e.id, course_id = r.course_id, rule_id = r.id }
        end
      end
    end
  end
  return sc.array(out)
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t or {}) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- The ops message of the weekly audit report (audit.summary's output), one line each:
-- the window, writes per system, writes per scenario, failures and holds.
function audit_text(r)
  local lines = { string.format("Audit report %s .. %s: %d writes, %d executions, %d failed, %d holds (%d pending)",
    string.sub(r.since, 1, 10), string.sub(r["until"], 1, 10), r.totals.writes or 0,
    r.executions.total, r.executions.failures, r.executions.holds, r.holds.pending) }
  local function outcomes(o)
    local parts = {}
    for _, k in ipairs(sorted_keys(o)) do parts[#parts + 1] = k .. " " .. o[k] end
    return table.concat(parts, ", ")
  end
  for _, sys in ipairs(sorted_keys(r.systems)) do
    lines[#lines + 1] = "  " .. sys .. ": " .. outcomes(r.systems[sys])
  end
  for _, sc in ipairs(sorted_keys(r.writes)) do
    local parts = {}
    for _, sys in ipairs(sorted_keys(r.writes[sc])) do
      parts[#parts + 1] = sys .. " (" .. outcomes(r.writes[sc][sys]) .. ")"
    end
    lines[#lines + 1] = "  " .. sc .. ": " .. table.concat(parts, "; ")
  end
  for _, sc in ipairs(sorted_keys(r.scenarios)) do
    local s = r.scenarios[sc]
    if (s.failures or 0) > 0 or (s.holds or 0) > 0 then
      lines[#lines + 1] = string.format("  %s: %d failed, %d held of %d", sc, s.failures, s.holds, s.executions)
    end
  end
  if r.file then lines[#lines + 1] = "  report: " .. r.file end
  return table.concat(lines, "\n")
end
