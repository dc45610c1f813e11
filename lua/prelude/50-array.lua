-- Array functions. Arrays count from 1 when indexed (items[1]); slice() counts from
-- 0 like Make. Results are arrays even when empty.

-- The values of key (a dotted path) of each element, or fn(element).
function map(arr, key)
  local out = {}
  for i, v in ipairs(_list(arr, "map")) do
    if type(key) == "function" then out[i] = key(v) else out[#out + 1] = get(v, key) end
  end
  return sc.array(out)
end

function join(arr, sep)
  local parts = {}
  for _, v in ipairs(_list(arr, "join")) do
    if v ~= nil then parts[#parts + 1] = _str(v) end
  end
  return table.concat(parts, _str(sep) or ",")
end

-- First occurrence of each value (or of each value of key), in order; texts after NFC.
function distinct(arr, key)
  local out, seen = {}, {}
  for _, v in ipairs(_list(arr, "distinct")) do
    local id = sc.json(key and get(v, key) or v)
    id = sc.text(id, "nfc") or id
    if not seen[id] then
      seen[id] = true
      out[#out + 1] = v
    end
  end
  return sc.array(out)
end

-- Sorted copy; order "asc" (default) or "desc"; key sorts objects by a field.
function sort(arr, order, key)
  local list = _list(arr, "sort")
  local desc = order == "desc"
  if order ~= nil and order ~= "asc" and order ~= "desc" then
    error("sort: order must be asc or desc", 2)
  end
  local function val(v) if key then return get(v, key) end return v end
  for _, v in ipairs(list) do
    local t = type(val(v))
    if t ~= "number" and t ~= "string" and val(v) ~= nil then
      error("sort: can only sort numbers or texts" .. (key and "" or " (give a key for objects)"), 2)
    end
  end
  table.sort(list, function(a, b)
    local x, y = val(a), val(b)
    if x == nil then return false end
    if y == nil then return true end
    if type(x) ~= type(y) then error("sort: cannot compare a number with a text", 3) end
    if desc then return x > y end
    return x < y
  end)
  return sc.array(list)
end

function first(arr) return _list(arr, "first")[1] end
function last(arr) local l = _list(arr, "last") return l[#l] end

-- Elements [start, stop) counted from 0; negative values count from the end.
function slice(arr, start, stop)
  local l = _list(arr, "slice")
  local n = #l
  start = math.tointeger(start or 0) or 0
  stop = math.tointeger(stop or n) or n
  if start < 0 then start = math.max(0, n + start) end
  if stop < 0 then stop = n + stop end
  local out = {}
  for i = start + 1, math.min(stop, n) do out[#out + 1] = l[i] end
  return sc.array(out)
end

-- Arrays are concatenated; objects are merged, later keys winning.
function merge(...)
  local n = select("#", ...)
  local kind
  for i = 1, n do
    local v = select(i, ...)
    if v ~= nil then kind = kind or sc.kind(v) end
  end
  if kind == "object" then
    local out = {}
    for i = 1, n do
      local v = select(i, ...)
      if v ~= nil then for k, x in pairs(v) do out[k] = x end end
    end
    return sc.object(out)
  end
  local out = {}
  for i = 1, n do
    for _, x in ipairs(_list((select(i, ...)), "merge")) do out[#out + 1] = x end
  end
  return sc.array(out)
end

function keys(obj)
  local out = {}
  if obj == nil then return sc.array(out) end
  if sc.kind(obj) ~= "object" then error("keys: expected an object, got " .. sc.kind(obj), 2) end
  for k in pairs(obj) do out[#out + 1] = k end
  if type(obj) == "table" then table.sort(out) end
  return sc.array(out)
end
