-- General functions. "if" is a Lua keyword: templates write if(cond, a, b), which
-- the engine turns into iif(cond, a, b); both names work.

function iif(cond, yes, no)
  if cond then return yes end
  return no
end

-- v unless it is nil, "", an empty array or an empty object.
function ifempty(v, default)
  if v == nil or v == "" then return default end
  local k = sc.kind(v)
  if (k == "array" or k == "object") and length(v) == 0 then return default end
  return v
end

-- Value at a dotted path ("manager.name", "items.1.id"; arrays count from 1).
function get(obj, path)
  if path == nil then return obj end
  local v = obj
  for part in string.gmatch(_str(path), "[^%.]+") do
    v = _field(v, part)
    if v == nil then return nil end
  end
  return v
end

-- Object with only the given keys (varargs, or one array of keys).
function pick(obj, ...)
  local out = {}
  for _, k in ipairs(_args(...)) do
    local v = _field(obj, k)
    if v ~= nil then out[_str(k)] = v end
  end
  return sc.object(out)
end

-- Object without the given keys.
function omit(obj, ...)
  local drop = {}
  for _, k in ipairs(_args(...)) do drop[_str(k)] = true end
  local out = {}
  if obj ~= nil then
    for k, v in pairs(obj) do
      if not drop[k] then out[k] = v end
    end
  end
  return sc.object(out)
end

-- switch(value, case1, result1, case2, result2, ..., [default])
function switch(value, ...)
  local n = select("#", ...)
  for i = 1, n - 1, 2 do
    if _eq(value, (select(i, ...))) then return (select(i + 1, ...)) end
  end
  if n % 2 == 1 then return (select(n, ...)) end
  return nil
end
