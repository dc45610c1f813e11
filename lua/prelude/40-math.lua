-- Math functions. min, max and sum take numbers or one array; nil values are skipped.

local function number(v, fname)
  local n = tonumber(v)
  if n == nil then error(fname .. ": '" .. tostring(_str(v)) .. "' is not a number", 3) end
  return n
end

-- Half away from zero, to places decimals (0 by default).
function round(x, places)
  if x == nil then return nil end
  x = number(x, "round")
  local m = 10 ^ (places or 0)
  local r = x >= 0 and math.floor(x * m + 0.5) / m or -math.floor(-x * m + 0.5) / m
  if (places or 0) <= 0 then return math.tointeger(r) or r end
  return r
end

function floor(x) if x == nil then return nil end return math.floor(number(x, "floor")) end
function ceil(x) if x == nil then return nil end return math.ceil(number(x, "ceil")) end

function min(...)
  local best
  for _, v in ipairs(_args(...)) do
    v = number(v, "min")
    if best == nil or v < best then best = v end
  end
  return best
end

function max(...)
  local best
  for _, v in ipairs(_args(...)) do
    v = number(v, "max")
    if best == nil or v > best then best = v end
  end
  return best
end

function sum(...)
  local total = 0
  for _, v in ipairs(_args(...)) do total = total + number(v, "sum") end
  return total
end
