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

-- Parses one Link header value into {uri, rels} entries appended to out.
local function parse(text, out)
  local i, n = 1, #text
  while i <= n do
    local lt = string.find(text, "<", i, true)
    if not lt then return end
    local gt = string.find(text, ">", lt + 1, true)
    if not gt then return end
    local entry = { uri = string.sub(text, lt + 1, gt - 1), rels = {} }
    out[#out + 1] = entry
    i = gt + 1
    while i <= n do -- link-params up to the ',' that ends this link-value
      local _, e = string.find(text, "^[ \t]*", i)
      i = e + 1
      local c = string.sub(text, i, i)
      if c == "," then i = i + 1 break end
      if c ~= ";" then -- not a parameter: skip to the next link-value
        local comma = string.find(text, ",", i, true)
        i = comma and comma + 1 or n + 1
        break
      end
      local s2, e2 = string.find(text, "^[ \t]*[%w!#$&+%-%.%^_`|~*]+", i + 1)
      if not s2 then
        i = i + 1
      else
        i = e2 + 1
        local name = string.lower((string.gsub(string.sub(text, s2, e2), "^[ \t]*", "")))
        local value = ""
        local _, e3 = string.find(text, "^[ \t]*=[ \t]*", i)
        if e3 then
          i = e3 + 1
          if string.sub(text, i, i) == '"' then -- quoted-string, with \-escapes
            local parts, j = {}, i + 1
            while j <= n do
              local q = string.find(text, '["\\]', j)
              if not q then j = n + 1 break end
              parts[#parts + 1] = string.sub(text, j, q - 1)
              if string.sub(text, q, q) == '"' then j = q + 1 break end
              parts[#parts + 1] = string.sub(text, q + 1, q + 1)
              j = q + 2
            end
            value, i = table.concat(parts), j
          else
            local s4, e4 = string.find(text, "^[^,;]*", i)
            local k = e4
            while k >= s4 and (string.byte(text, k) == 32 or string.byte(text, k) == 9) do k = k - 1 end
            value = string.sub(text, s4, k)
            i = e4 + 1
          end
        end
        if name == "rel" and not entry.rel_seen then -- only the first rel counts (8288 3.3)
          entry.rel_seen = true
          for r in string.gmatch(value, "[^ \t]+") do entry.rels[#entry.rels + 1] = string.lower(r) end
        end
      end
    end
  end
end

-- The target of the first link whose rel is REL (relation types ignore case), from an
-- http.request output's headers (every Link header, in order) or from Link values.
function link(headers, rel)
  if headers == nil then return nil end
  rel = string.lower(_str(rel) or "")
  local raw = headers
  if sc.kind(headers) == "object" then raw = headers["link"] end
  local links = {}
  for _, v in ipairs(values(raw)) do parse(_str(v), links) end
  for _, l in ipairs(links) do
    for _, r in ipairs(l.rels) do
      if r == rel then return l.uri end
    end
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
