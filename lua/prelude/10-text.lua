-- Text functions. nil in gives nil out, so ifempty() can supply a default.
-- Each is linear in its input: scans are done by the C helpers (sc.trim, sc.split,
-- sc.replace) or by plain finds, never by patterns that backtrack.

-- Texts are searched after Unicode normalisation (NFC), as they are compared: a
-- decomposed "Mu\u{308}ller" contains "Müller". Text that is not valid UTF-8 is
-- searched as it is. sc.text is linear (utf8proc).
local function nfc(s)
  return sc.text(s, "nfc") or s
end

function lower(s) return _case(s, "lower") end
function upper(s) return _case(s, "upper") end
function trim(s) s = _str(s); return s and sc.trim(s) end

-- Replaces every occurrence of find (plain text, not a pattern).
function replace(s, find, with)
  s = _str(s)
  if s == nil then return nil end
  return sc.replace(nfc(s), nfc(_str(find) or ""), _str(with) or "")
end

-- Characters [start, stop) counted from 0, as Make does; stop defaults to the end.
function substring(s, start, stop)
  s = _str(s)
  if s == nil then return nil end
  local n = utf8.len(s)
  if n == nil then error("substring: text is not valid UTF-8", 2) end
  start = math.max(0, math.tointeger(start or 0) or 0)
  stop = math.min(n, math.tointeger(stop or n) or n)
  if start >= stop then return "" end
  local a = utf8.offset(s, start + 1)
  local b = utf8.offset(s, stop + 1)
  return string.sub(s, a, b - 1)
end

function split(s, sep)
  s = _str(s)
  if s == nil then return sc.array({}) end
  return sc.array(sc.split(s, _str(sep) or ","))
end

-- Characters of a text, elements of an array, keys of an object; 0 for nil.
function length(v)
  if v == nil then return 0 end
  local k = sc.kind(v)
  if k == "string" then return utf8.len(v) or #v end
  if k == "array" or k == "object" then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return n
  end
  return #_str(v)
end

function startsWith(s, prefix)
  s, prefix = _str(s), _str(prefix)
  if s == nil or prefix == nil then return false end
  s, prefix = nfc(s), nfc(prefix)
  return string.sub(s, 1, #prefix) == prefix
end

function endsWith(s, suffix)
  s, suffix = _str(s), _str(suffix)
  if s == nil or suffix == nil then return false end
  s, suffix = nfc(s), nfc(suffix)
  return suffix == "" or string.sub(s, -#suffix) == suffix
end

-- Text contains a substring, or an array contains a value (deep equality).
function contains(hay, needle)
  if hay == nil then return false end
  local k = sc.kind(hay)
  if k == "array" then
    for _, v in ipairs(_list(hay)) do
      if _eq(v, needle) then return true end
    end
    return false
  end
  if k == "object" then return _field(hay, needle) ~= nil end
  needle = _str(needle)
  return needle ~= nil and string.find(nfc(_str(hay)), nfc(needle), 1, true) ~= nil
end
