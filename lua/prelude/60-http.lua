-- HTTP helpers: Link headers (RFC 8288) and URL path segments. Each is one pass over
-- its text (string.find with plain text or anchored classes), linear in its length.

-- The values of a header: an http.request output's headers[name] is a string when the
-- header came once, an array of strings when it came several times.
local function values(v)
  if v == nil then return {} end
  local k = sc.kind(v)
  if k == "array" then return _list(v) end
  if k == "string" then return { v } end
  error("link: expected headers (an object) or a Link header value, got " .. k, 3)
end

local find, sub, byte, lower = string.find, string.sub, string.byte, string.lower

-- True when the rel value (space-separated relation types) holds rel.
local function has_rel(value, rel)
  for r in string.gmatch(value, "[^ \t]+") do
    if lower(r) == rel then return true end
  end
  return false
end

-- The value of the link-param starting at i (after its '='): its text and the next index.
local function param_value(text, i, n)
  if byte(text, i) ~= 34 then -- a token, up to ',' or ';'
    local s, e = find(text, "^[^,;]*", i)
    local k = e
    while k >= s and (byte(text, k) == 32 or byte(text, k) == 9) do k = k - 1 end
    return sub(text, s, k), e + 1
  end
  local parts, j = {}, i + 1 -- a quoted-string, with \-escapes
  while j <= n do
    local q = find(text, '["\\]', j)
    if not q then return table.concat(parts) .. sub(text, j), n + 1 end
    parts[#parts + 1] = sub(text, j, q - 1)
    if byte(text, q) == 34 then return table.concat(parts), q + 1 end
    parts[#parts + 1] = sub(text, q + 1, q + 1)
    j = q + 2
  end
  return table.concat(parts), j
end

-- The target of the first link-value of one Link header whose rel holds rel, or nil.
local function find_link(text, rel)
  local i, n = 1, #text
  while i <= n do
    local lt = find(text, "<", i, true)
    if not lt then return nil end
    local gt = find(text, ">", lt + 1, true)
    if not gt then return nil end
    i = gt + 1
    local seen = false -- only the first rel of a link counts (RFC 8288 3.3)
    while i <= n do -- its link-params, up to the ',' that ends it
      local _, e = find(text, "^[ \t]*", i)
      i = e + 1
      local c = byte(text, i)
      if c ~= 59 then -- not ';': the end of this link-value
        if c ~= 44 then
          local comma = find(text, ",", i, true)
          i = comma or n
        end
        i = i + 1
        break
      end
      local s2, e2, name = find(text, "^[ \t]*([%w!#$&+%-%.%^_`|~*]+)", i + 1)
      if not s2 then
        i = i + 1
      else
        i = e2 + 1
        local value = ""
        local _, e3 = find(text, "^[ \t]*=[ \t]*", i)
        if e3 then value, i = param_value(text, e3 + 1, n) end
        if not seen and lower(name) == "rel" then
          seen = true
          if has_rel(value, rel) then return sub(text, lt + 1, gt - 1) end
        end
      end
    end
  end
  return nil
end

-- The target of the first link whose rel is REL (relation types ignore case), from an
-- http.request output's headers (every Link header, in order) or from Link values.
function link(headers, rel)
  if headers == nil then return nil end
  rel = lower(_str(rel) or "")
  local raw = headers
  if sc.kind(headers) == "object" then raw = headers["link"] end
  for _, v in ipairs(values(raw)) do
    local uri = find_link(_str(v), rel)
    if uri then return uri end
  end
  return nil
end

-- A text split at '/' into path segments, empty ones left out: in an http.request path,
-- "/files/{{ segments(x) }}" inserts each as one encoded segment.
function segments(s)
  s = _str(s)
  local out = {}
  if s == nil then return sc.array(out) end
  local pos = 1
  while pos <= #s + 1 do
    local a = string.find(s, "/", pos, true) or #s + 1
    if a > pos then out[#out + 1] = string.sub(s, pos, a - 1) end
    pos = a + 1
  end
  return sc.array(out)
end
