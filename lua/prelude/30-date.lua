-- Dates are ISO 8601 texts in UTC ("2026-03-08T14:00:00.000Z"); functions also take
-- milliseconds since the epoch. Time zones are IANA names, UTC by default.
-- Daylight saving: a local time the zone skips moves forward by the gap; a local
-- time it repeats means its first occurrence.
-- A date-only text ("2026-03-09") is a calendar date, not an instant: where an instant
-- is needed it is midnight in the function's time zone, and addDays keeps it a date.

local MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"}

-- y, m, d of a date-only text, or nil.
function _dateonly(d)
  if type(d) ~= "string" then return nil end
  local y, m, day = string.match(d, "^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if not y then return nil end
  y, m, day = tonumber(y), tonumber(m), tonumber(day)
  if m < 1 or m > 12 or day < 1 or day > sc.monthdays(y, m) then return nil end
  return y, m, day
end

-- Epoch milliseconds below this (1973-03-03) are almost surely seconds.
local SECONDS_LIMIT = 100000000000

-- Dates as numbers: milliseconds within years 0000-9999 (what ISO 8601 texts hold).
local MS_MIN, MS_MAX = -62167219200000, 253402300799999

-- "+HH:MM" at the end of an ISO text within RFC 3339's -23:59..+23:59, or an error.
local function check_offset(text, fname)
  local sign, hh, mm = string.match(text, "T.*([+-])(%d%d):(%d%d)$")
  if sign and (tonumber(hh) > 23 or tonumber(mm) > 59) then
    error(fname .. ": '" .. text .. "' has the UTC offset " .. sign .. hh .. ":" .. mm ..
          ", out of range (offsets run from -23:59 to +23:59)", 4)
  end
end

-- A local date-time without offset ("2026-03-09T10:00:00", seconds required) is wall
-- time in tz, as a date-only text is a calendar date: ms, or nil when d is not one.
local function local_time(d, tz)
  if not string.match(d, "^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d%.?%d*$") then return nil end
  local utc = sc.parseiso(d .. "Z")
  if utc == nil then return nil end
  local y, mo, day, h, mi, s, msec = sc.tzlocal(utc, "UTC")
  return sc.tzmake(y, mo, day, h, mi, s, msec, tz or "UTC")
end

function _ms(d, fname, tz)
  fname = fname or "date"
  if d == nil then return nil end
  if type(d) == "number" then
    if d ~= d or d < MS_MIN or d > MS_MAX then
      error(fname .. ": " .. _str(d) .. " is not a date: date numbers are milliseconds since "
            .. "1970-01-01 UTC, within the years 0000-9999", 3)
    end
    if d > -SECONDS_LIMIT and d < SECONDS_LIMIT then
      error(fname .. ": " .. _str(d) .. " looks like seconds since the epoch; "
            .. "date numbers are milliseconds: use parseDate(value, 'X') for seconds", 3)
    end
    return math.tointeger(d) or math.floor(d)
  end
  local y, m, day = _dateonly(d)
  if y then return sc.tzmake(y, m, day, 0, 0, 0, 0, tz or "UTC") end
  local text = _str(d)
  local ms = local_time(text, tz)
  if ms then return ms end
  check_offset(text, fname)
  ms = sc.parseiso(text)
  if ms == nil then
    local hint = string.match(text, "^%d+$") and
      " (for a count since the epoch use parseDate(value, 'X') for seconds, 'x' for milliseconds)" or ""
    error(fname .. ": '" .. text .. "' is not an ISO 8601 date" .. hint, 3)
  end
  return ms
end

-- n as a whole number of days (nil: 0), or an error in the caller's terms.
local function whole_days(n, fname)
  if n == nil then return 0 end
  local v = tonumber(n)
  if v == nil or math.tointeger(v) == nil then
    error(fname .. ": the number of days must be a whole number, not " .. _str(n)
          .. " (addHours takes fractions)", 3)
  end
  if math.abs(v) > 3660000 then
    error(fname .. ": " .. _str(n) .. " days leaves the years 0000-9999", 3)
  end
  return math.tointeger(v)
end

-- ms moved by delta milliseconds, within the years 0000-9999.
local function shifted(ms, delta, fname)
  local r = ms + delta
  if r ~= r or r < MS_MIN or r > MS_MAX then
    error(fname .. ": the result leaves the years 0000-9999", 3)
  end
  return math.floor(r)
end

-- n as a number (nil: 0), or an error in the caller's terms.
local function amount(n, fname, what)
  if n == nil then return 0 end
  local v = tonumber(n)
  if v == nil or v ~= v or v == math.huge or v == -math.huge then
    error(fname .. ": the number of " .. what .. " must be a number, not " .. _str(n), 3)
  end
  return v
end

function now() return sc.iso(sc.now()) end

local DAYS = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
local TOKENS = {"YYYY", "MMMM", "dddd", "SSS", "MMM", "ddd", "YY", "MM", "DD", "Do", "HH", "hh",
                "mm", "ss", "ZZ", "M", "D", "H", "h", "m", "s", "A", "a", "Z", "X", "x"}

-- English ordinal suffix of a day of the month: 1st 2nd 3rd 4th ... 11th 12th 13th 21st.
local function ordinal(n)
  local t, u = n % 100, n % 10
  if t >= 11 and t <= 13 then return n .. "th" end
  return n .. (u == 1 and "st" or u == 2 and "nd" or u == 3 and "rd" or "th")
end

-- Splits a format into tokens and literal text ([text] is always literal).
local function tokens(fmt)
  local out, i = {}, 1
  while i <= #fmt do
    local c = string.sub(fmt, i, i)
    if c == "[" then
      local j = string.find(fmt, "]", i, true) or (#fmt + 1)
      out[#out + 1] = {lit = string.sub(fmt, i + 1, j - 1)}
      i = j + 1
    else
      local hit
      for _, t in ipairs(TOKENS) do
        if string.sub(fmt, i, i + #t - 1) == t then hit = t break end
      end
      if hit then
        out[#out + 1] = {tok = hit}
        i = i + #hit
      else
        out[#out + 1] = {lit = c}
        i = i + 1
      end
    end
  end
  return out
end

local function offset_text(min, colon)
  local sign = min < 0 and "-" or "+"
  min = math.abs(min)
  return string.format(colon and "%s%02d:%02d" or "%s%02d%02d", sign, min // 60, min % 60)
end

-- A format is text: anything else is named in the caller's terms.
local function check_format(fmt, fname)
  if fmt ~= nil and type(fmt) ~= "string" then
    error(fname .. ": the format must be a text such as 'YYYY-MM-DD', not " .. _str(fmt), 3)
  end
end

function formatDate(d, fmt, tz)
  check_format(fmt, "formatDate")
  local ms = _ms(d, "formatDate", tz)
  if ms == nil then return nil end
  if fmt == nil then return _dateonly(d) and d or sc.iso(ms) end
  local y, mo, day, h, mi, s, msec, off, wd = sc.tzlocal(ms, tz or "UTC")
  local h12 = h % 12 == 0 and 12 or h % 12
  local v = {
    YYYY = string.format("%04d", y), YY = string.format("%02d", y % 100),
    MMMM = MONTHS[mo], MMM = string.sub(MONTHS[mo], 1, 3),
    MM = string.format("%02d", mo), M = tostring(mo),
    DD = string.format("%02d", day), D = tostring(day), Do = ordinal(day),
    dddd = DAYS[wd + 1], ddd = string.sub(DAYS[wd + 1], 1, 3),
    HH = string.format("%02d", h), H = tostring(h),
    hh = string.format("%02d", h12), h = tostring(h12),
    mm = string.format("%02d", mi), m = tostring(mi),
    ss = string.format("%02d", s), s = tostring(s), SSS = string.format("%03d", msec),
    A = h < 12 and "AM" or "PM", a = h < 12 and "am" or "pm",
    Z = offset_text(off, true), ZZ = offset_text(off, false),
    X = tostring(ms // 1000), x = tostring(ms),
  }
  local out = {}
  for _, t in ipairs(tokens(fmt)) do out[#out + 1] = t.lit or v[t.tok] end
  return table.concat(out)
end

-- Reads text written in fmt (ISO 8601 when fmt is nil) as a local time in tz.
function parseDate(text, fmt, tz)
  check_format(fmt, "parseDate")
  text = _str(text)
  if text == nil or text == "" then return nil end
  if fmt == nil then return sc.iso(_ms(text, "parseDate", tz)) end
  local f = {year = 1970, month = 1, day = 1, hour = 0, min = 0, sec = 0, ms = 0}
  local pos, pm, offset = 1, nil, nil
  local function num(min, max)
    local a, b = string.find(text, "^%d+", pos)
    if not a or b - a + 1 < min then error("parseDate: '" .. text .. "' does not match '" .. fmt .. "'", 4) end
    if b - a + 1 > max then b = a + max - 1 end
    pos = b + 1
    return tonumber(string.sub(text, a, b))
  end
  for _, t in ipairs(tokens(fmt)) do
    local k = t.tok
    if t.lit then
      if string.sub(text, pos, pos + #t.lit - 1) ~= t.lit then
        error("parseDate: '" .. text .. "' does not match '" .. fmt .. "'", 2)
      end
      pos = pos + #t.lit
    elseif k == "YYYY" then f.year = num(4, 4)
    elseif k == "YY" then f.year = 2000 + num(2, 2)
    elseif k == "MM" or k == "M" then f.month = num(1, 2)
    elseif k == "DD" or k == "D" then f.day = num(1, 2)
    elseif k == "Do" then
      f.day = num(1, 2)
      local want = string.sub(ordinal(f.day), -2)
      if string.lower(string.sub(text, pos, pos + 1)) ~= want then
        error("parseDate: expected '" .. ordinal(f.day) .. "' in '" .. text .. "'", 2)
      end
      pos = pos + 2
    elseif k == "HH" or k == "H" or k == "hh" or k == "h" then f.hour = num(1, 2)
    elseif k == "mm" or k == "m" then f.min = num(1, 2)
    elseif k == "ss" or k == "s" then f.sec = num(1, 2)
    elseif k == "SSS" then f.ms = num(3, 3)
    elseif k == "MMM" or k == "MMMM" then
      local found
      for i, name in ipairs(MONTHS) do
        local want = k == "MMM" and string.sub(name, 1, 3) or name
        if string.lower(string.sub(text, pos, pos + #want - 1)) == string.lower(want) then
          f.month, found = i, want
          break
        end
      end
      if not found then error("parseDate: no month name at '" .. string.sub(text, pos) .. "'", 2) end
      pos = pos + #found
    elseif k == "A" or k == "a" then
      local ap = string.upper(string.sub(text, pos, pos + 1))
      if ap ~= "AM" and ap ~= "PM" then error("parseDate: expected AM or PM in '" .. text .. "'", 2) end
      pm = ap == "PM"
      pos = pos + 2
    elseif k == "Z" or k == "ZZ" then
      local sign, hh, mm2 = string.match(text, "^([+-])(%d%d):?(%d%d)", pos)
      if string.sub(text, pos, pos) == "Z" then
        offset, pos = 0, pos + 1
      elseif sign then
        if tonumber(hh) > 23 or tonumber(mm2) > 59 then
          error("parseDate: '" .. text .. "' has the UTC offset " .. sign .. hh .. ":" .. mm2 ..
                ", out of range (offsets run from -23:59 to +23:59)", 2)
        end
        offset = (tonumber(hh) * 60 + tonumber(mm2)) * (sign == "-" and -1 or 1)
        pos = pos + (string.find(text, ":", pos, true) == pos + 3 and 6 or 5)
      else
        error("parseDate: expected a UTC offset in '" .. text .. "'", 2)
      end
    elseif k == "X" then return sc.iso(num(1, 12) * 1000)
    elseif k == "x" then return sc.iso(num(1, 15))
    end
  end
  if pos <= #text then error("parseDate: unexpected '" .. string.sub(text, pos) .. "'", 2) end
  if pm ~= nil then
    if f.hour < 1 or f.hour > 12 then
      error("parseDate: '" .. text .. "' is not a valid time: hour " .. f.hour ..
            " is out of range 1-12 with AM/PM", 2)
    end
    if f.hour == 12 then f.hour = 0 end
    if pm then f.hour = f.hour + 12 end
  end
  local bad = "parseDate: '" .. text .. "' is not a valid "
  if f.month < 1 or f.month > 12 then
    error(bad .. "date: month " .. f.month .. " is out of range 1-12", 2)
  end
  local last = sc.monthdays(f.year, f.month)
  if f.day < 1 or f.day > last then
    error(bad .. "date: " .. MONTHS[f.month] .. " " .. f.year .. " has " .. last .. " days", 2)
  end
  if f.hour > 23 then error(bad .. "time: hour " .. f.hour .. " is out of range 0-23", 2) end
  if f.min > 59 then error(bad .. "time: minute " .. f.min .. " is out of range 0-59", 2) end
  if f.sec > 59 then error(bad .. "time: second " .. f.sec .. " is out of range 0-59", 2) end
  local ms
  if offset ~= nil then
    ms = sc.tzmake(f.year, f.month, f.day, f.hour, f.min, f.sec, f.ms, "UTC") - offset * 60000
  else
    ms = sc.tzmake(f.year, f.month, f.day, f.hour, f.min, f.sec, f.ms, tz or "UTC")
  end
  return sc.iso(ms)
end

-- Same local time n days later in tz (a DST change makes that 23 or 25 hours).
function addDays(d, n, tz)
  n = whole_days(n, "addDays")
  local y0, m0, d0 = _dateonly(d)
  if y0 then -- a calendar date stays a date
    return string.sub(sc.iso(sc.tzmake(y0, m0, d0 + n, 0, 0, 0, 0, "UTC")), 1, 10)
  end
  local ms = _ms(d, "addDays", tz)
  if ms == nil then return nil end
  local y, mo, day, h, mi, s, msec = sc.tzlocal(ms, tz or "UTC")
  return sc.iso(sc.tzmake(y, mo, day + n, h, mi, s, msec, tz or "UTC"))
end

-- Exactly n hours later (elapsed time, whatever the wall clock does); a date-only d
-- starts at midnight in tz.
function addHours(d, n, tz)
  n = amount(n, "addHours", "hours")
  local ms = _ms(d, "addHours", tz)
  if ms == nil then return nil end
  return sc.iso(shifted(ms, n * 3600000, "addHours"))
end

function addMinutes(d, n, tz)
  n = amount(n, "addMinutes", "minutes")
  local ms = _ms(d, "addMinutes", tz)
  if ms == nil then return nil end
  return sc.iso(shifted(ms, n * 60000, "addMinutes"))
end

local UNITS = {milliseconds = 1, seconds = 1000, minutes = 60000, hours = 3600000, days = 86400000}

-- a - b in unit (milliseconds, seconds, minutes, hours, days), truncated toward zero.
-- Two calendar dates differ by whole days; a date-only against an instant is midnight in tz.
function dateDifference(a, b, unit, tz)
  if _dateonly(a) and _dateonly(b) then tz = "UTC" end
  local x, y = _ms(a, "dateDifference", tz), _ms(b, "dateDifference", tz)
  if x == nil or y == nil then return nil end
  unit = unit or "milliseconds"
  local div = UNITS[unit] or UNITS[unit .. "s"]
  if not div then error("dateDifference: unknown unit '" .. tostring(unit) .. "'", 2) end
  local d = x - y
  return d >= 0 and d // div or -((-d) // div)
end
