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

-- The local part of a work email from any name: Latin letters with their accents
-- dropped (ñ -> n, ß -> ss), digits kept, a hyphen kept between letters, everything
-- else (spaces, apostrophes, other scripts) left out, so the address is valid for
-- any name (RFC 5321 dot-atom). A name with nothing left gives nil: the rule's caller
-- falls back to the candidate id.
local fold = {
  ["à"]="a",["á"]="a",["â"]="a",["ã"]="a",["ä"]="a",["å"]="a",["æ"]="ae",["ç"]="c",
  ["è"]="e",["é"]="e",["ê"]="e",["ë"]="e",["ì"]="i",["í"]="i",["î"]="i",["ï"]="i",
  ["ð"]="d",["ñ"]="n",["ò"]="o",["ó"]="o",["ô"]="o",["õ"]="o",["ö"]="o",["ø"]="o",
  ["ù"]="u",["ú"]="u",["û"]="u",["ü"]="u",["ý"]="y",["ÿ"]="y",["þ"]="th",["ß"]="ss",
  ["œ"]="oe",["ł"]="l",["ś"]="s",["š"]="s",["ž"]="z",["ź"]="z",["ż"]="z",["č"]="c",
  ["ć"]="c",["ř"]="r",["ń"]="n",["ě"]="e",["ę"]="e",["ą"]="a",["ğ"]="g",["ı"]="i",["ş"]="s",
}
local function email_part(name)
  if type(name) ~= "string" then return nil end
  local out = {}
  for _, cp in utf8.codes(lower(name)) do
    local ch = utf8.char(cp)
    if ch:match("^[a-z0-9]$") then out[#out + 1] = ch
    elseif fold[ch] then out[#out + 1] = fold[ch]
    elseif ch == "-" then out[#out + 1] = "-" end
  end
  local s = table.concat(out):gsub("%-+", "-"):gsub("^%-", ""):gsub("%-$", "")
  if s == "" then return nil end
  return s
end

-- The work email of a new hire from its candidate: first.last@DOMAIN by the rule
-- above, or the candidate id when neither name leaves a letter (a null first name
-- gives last@DOMAIN). Never fails on a name.
function work_email(cand, domain)
  domain = domain or "example.com"
  local f, l = email_part(cand and cand.first_name), email_part(cand and cand.last_name)
  local localpart
  if f and l then localpart = f .. "." .. l
  else localpart = f or l or email_part(cand and cand.id) or "new-hire" end
  return localpart .. "@" .. domain
end

-- The hire with a work email the HRIS has not got: first.last.NUMBER@DOMAIN, NUMBER
-- the digits of the candidate id (the whole id folded when it has none), for when
-- first.last@DOMAIN is taken by someone of the same name.
function with_unique_email(hire, cand)
  local out = {}
  for k, v in pairs(hire) do out[k] = v end
  local mail = work_email(cand)
  local at = mail:find("@", 1, true)
  local id = cand and cand.id
  local num = type(id) == "string" and id:match("(%d+)%D*$") or email_part(id) or "1"
  out.work_email = mail:sub(1, at - 1) .. "." .. num .. mail:sub(at)
  return out
end

-- The text of a compare diff for people: "pay_rate.currency: HRIS CAD, offer USD; ...".
function diff_text(diff)
  local parts = {}
  local function show(v)
    local t = type(v)
    if t == "string" or t == "number" or t == "boolean" then return tostring(v) end
    if t == "table" then return "(object)" end
    return "(none)"
  end
  for _, d in ipairs(diff or {}) do
    parts[#parts + 1] = string.format("%s: HRIS %s, offer %s", d.field, show(d.left), show(d.right))
  end
  return table.concat(parts, "; ")
end

-- Accepted offers against the hires of the HRIS, linked by what links them: the offer
-- id the hire carries, then the candidate (a hire created without the offer id but with
-- the candidate of an accepted offer). The hires of the comparable window come back with
-- `offer_key` set; a hire that links to no offer either way keeps its own offer id (the
-- reconciliation then reports it), and a hire with neither is not from an offer.
function link_hires(hires, offers)
  local by_candidate = {}
  for _, o in ipairs(offers) do
    if o.candidate_id then by_candidate[o.candidate_id] = o.id end
  end
  local out = {}
  for _, h in ipairs(hires) do
    local key = h.offer_id
    if (key == nil or key == "") and h.candidate_id then key = by_candidate[h.candidate_id] end
    if key ~= nil and key ~= "" then
      out[#out + 1] = { id = h.id, offer_key = key, candidate_id = h.candidate_id,
                        hire_date = h.hire_date, offer_id = h.offer_id }
    end
  end
  return sc.array(out)
end

-- One reconcile drift of HRIS employees (left) and LMS learners (right) as the work
-- item a person acts on, or {skip = true} when there is nothing to do (a terminated employee
-- without a learner, or whose inactive learner's other fields are stale).
function learner_item(d)
  local l, r = d.left or {}, d.right or {}
  if d.kind == "only-left" then
    if l.status ~= "active" then return { skip = true } end
    return { kind = "missing_learner", employee_id = d.key }
  elseif d.kind == "only-right" then
    return { kind = "orphan_learner", external_id = d.key, learner_id = r.learner_id }
  elseif d.kind == "duplicate" then
    return { kind = "duplicate", side = d.side, key = d.key, count = d.count }
  end
  if l.status == "terminated" then
    if r.status == "active" then
      return { kind = "active_learner_terminated", employee_id = d.key, learner_id = r.learner_id }
    end
    return { skip = true }
  end
  local fields = {}
  for _, x in ipairs(d.diff) do
    if x.field ~= "status" then
      fields[#fields + 1] = { field = x.field, hris = x.left, lms = x.right }
    end
  end
  if #fields == 0 then
    return { kind = "inactive_learner", employee_id = d.key, learner_id = r.learner_id }
  end
  return { kind = "field_mismatch", employee_id = d.key, learner_id = r.learner_id,
           fields = sc.array(fields) }
end

-- Learners with their access as the HRIS says status: active, or terminated.
function learner_status(learners)
  local out = {}
  for i, l in ipairs(learners) do
    out[i] = { external_id = l.external_id, learner_id = l.id, title = l.title,
               department = l.department, email = l.email,
               manager = l.manager_external_id, status = l.active and "active" or "terminated" }
  end
  return sc.array(out)
end

-- One reconcile drift of accepted offers (left) and linked hires (right) as the work
-- item a person acts on, or {skip = true}: an offer accepted before `since` (the hires'
-- window) whose hire may have started before the window is not an orphan.
function hire_item(d, since)
  local l, r = d.left or {}, d.right or {}
  if d.kind == "only-left" then
    if type(l.accepted_at) == "string" and l.accepted_at < since then return { skip = true } end
    return { kind = "accepted_offer_without_hire", offer_id = d.key, candidate_id = l.candidate,
             accepted_at = l.accepted_at }
  elseif d.kind == "only-right" then
    return { kind = "hire_without_accepted_offer", offer_id = d.key, employee_id = r.employee,
             candidate_id = r.candidate, hire_date = r.hire_date }
  elseif d.kind == "duplicate" then
    return { kind = "duplicate_" .. d.side, offer_id = d.key, count = d.count }
  end
  return { skip = true }   -- the fields are shown, never compared
end
