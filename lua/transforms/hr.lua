-- Field transforms of the shipped HR scenarios (called as hr.NAME from YAML).

-- The one canonical screening result, whichever vendor sent it.
function screening_a(b)
  local outcome = ({ CLEAR = "clear", CONSIDER = "review", SUSPENDED = "pending" })[b.status]
  return { vendor = "screening-a", report_id = b.report_id, candidate_id = b.candidate_ref,
           result = outcome or "review", completed_at = b.completed, raw_status = b.status }
end

function screening_b(b)
  local s = b.data and b.data.screening
  if not s then error("vendor B payload has no data.screening") end
  local outcome = ({ pass = "clear", fail = "review", pending = "pending" })[s.result and s.result.outcome]
  return { vendor = "screening-b", report_id = s.id, candidate_id = s.candidate and s.candidate.external_id,
           result = outcome or "review", completed_at = s.finished_at,
           raw_status = s.result and s.result.outcome }
end

-- The HRIS new hire from an accepted offer and its candidate (names, dates, manager of
-- record, pay rate).
function offer_to_hire(offer, cand)
  return {
    first_name = trim(cand.first_name), last_name = trim(cand.last_name),
    work_email = lower(cand.first_name .. "." .. string.gsub(cand.last_name, "%s+", "") .. "@example.com"),
    personal_email = cand.email, start_date = offer.start_date, title = offer.title,
    department_id = offer.department_id, manager_id = offer.manager_id,
    pay_rate = offer.pay_rate, offer_id = offer.id, candidate_id = cand.id,
  }
end

-- Daily reconciliation of HRIS employees and LMS learners (pages of lists): every
-- drift, one item each. A list longer than the pages fetched is an error, never a
-- silent "missing learner".
function learner_drift(emp_page, learner_page1, learner_page2)
  if emp_page.next_page ~= nil or learner_page2.next_page ~= nil then
    error("more records than the pages fetched: raise per_page or fetch more pages")
  end
  local employees = emp_page.items
  local learners = {}
  for _, l in ipairs(learner_page1.items) do learners[#learners + 1] = l end
  for _, l in ipairs(learner_page2.items) do learners[#learners + 1] = l end
  local by_ext, drift = {}, {}
  for _, l in ipairs(learners) do by_ext[l.external_id] = l end
  local seen = {}
  for _, e in ipairs(employees) do
    local l = by_ext[e.id]
    seen[e.id] = true
    if e.status == "active" and not l then
      drift[#drift + 1] = { kind = "missing_learner", employee_id = e.id }
    elseif e.status == "terminated" and l and l.active then
      drift[#drift + 1] = { kind = "active_learner_terminated", employee_id = e.id, learner_id = l.id }
    elseif l and e.status == "active" and l.title ~= e.title then
      drift[#drift + 1] = { kind = "field_mismatch", employee_id = e.id, field = "title",
                            hris = e.title, lms = l.title }
    end
  end
  for _, l in ipairs(learners) do
    if not seen[l.external_id] then
      drift[#drift + 1] = { kind = "orphan_learner", learner_id = l.id, external_id = l.external_id }
    end
  end
  return sc.array(drift)
end

-- Hires in the HRIS against offers accepted in the ATS: the orphans on either side.
function hire_orphans(hires, offers)
  local by_offer, hired, out = {}, {}, {}
  for _, h in ipairs(hires) do if h.offer_id then hired[h.offer_id] = h end end
  for _, o in ipairs(offers) do
    by_offer[o.id] = true
    if not hired[o.id] then out[#out + 1] = { kind = "accepted_offer_without_hire", offer_id = o.id,
                                             candidate_id = o.candidate_id } end
  end
  for _, h in ipairs(hires) do
    if not h.offer_id or not by_offer[h.offer_id] then
      out[#out + 1] = { kind = "hire_without_accepted_offer", employee_id = h.id, offer_id = h.offer_id }
    end
  end
  return sc.array(out)
end
