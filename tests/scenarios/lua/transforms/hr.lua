-- Transforms used by the golden tests.
function full_name(first, last)
  return trim((first or "") .. " " .. (last or ""))
end

function tenure_band(hire_date)
  local days = dateDifference(hire_date, "2026-03-08T00:00:00Z", "days")
  if days < 365 then return "new" elseif days < 5 * 365 then return "established" end
  return "veteran"
end

function explode()
  error("payroll code missing")
end

function blank_to_nil(s)
  if trim(s) == "" then return nil end
  return s
end

-- A message handler that never returns (xpcall): stopped by the step's budget.
function spin_handler()
  return xpcall(function() while true do end end, function() while true do end end)
end
