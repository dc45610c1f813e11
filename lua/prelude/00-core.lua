-- Helpers shared by the prelude files. Names starting with "_" are private by
-- convention: expressions can see them, but they are not part of the documented set.

-- A plain Lua list from a JSON array (proxy or table); nil gives an empty list.
function _list(v, fname)
  if v == nil then return {} end
  if sc.kind(v) ~= "array" then
    error((fname or "function") .. ": expected an array, got " .. sc.kind(v), 3)
  end
  local out = {}
  for i = 1, #v do out[i] = v[i] end
  return out
end

-- Varargs, or a single array argument, as a list (for min, max, sum, pick, omit).
function _args(...)
  local n = select("#", ...)
  local first = ...
  if n == 1 and sc.kind(first) == "array" then return _list(first) end
  local out = {}
  for i = 1, n do
    local v = select(i, ...)
    if v ~= nil then out[#out + 1] = v end
  end
  return out
end

-- Text form of a value: nil stays nil, integers without ".0", structures as JSON.
function _str(v)
  local t = type(v)
  if v == nil or t == "string" then return v end
  if t == "number" then return sc.numtext(v) end -- shortest round trip: 0.1, not 0.10000000000000001
  if t == "boolean" then return tostring(v) end
  return sc.json(v)
end

-- Unicode case mapping (utf8proc): op is "upper" or "lower"; nil stays nil.
function _case(s, op)
  s = _str(s)
  if s == nil then return nil end
  local r = sc.text(s, op)
  if r == nil then error(op .. ": text is not valid UTF-8", 3) end
  return r
end

-- Deep equality of two JSON-like values; texts compare after NFC normalisation.
function _eq(a, b)
  local ta, tb = type(a), type(b)
  if ta == "string" and tb == "string" and a ~= b then
    local x, y = sc.text(a, "nfc"), sc.text(b, "nfc")
    return x ~= nil and x == y
  end
  if ta ~= "userdata" and ta ~= "table" and tb ~= "userdata" and tb ~= "table" then
    return a == b
  end
  local x, y = sc.json(a), sc.json(b)
  return x == y or sc.text(x, "nfc") == sc.text(y, "nfc")
end

-- Field of an object, or element (1-based) of an array, for proxies and tables alike.
function _field(obj, key)
  if obj == nil then return nil end
  local k = sc.kind(obj)
  if k == "array" then
    local i = tonumber(key)
    if i == nil or math.type(i) ~= "integer" then return nil end
    return obj[i]
  elseif k == "object" then
    return obj[tostring(key)]
  end
  return nil
end
