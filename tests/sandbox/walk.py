#!/usr/bin/env python3
"""walk.py STYLE URL [KEY]: follows a sandbox list page by page, the way STYLE says
(page: the body's next_page; link: the Link rel="next" header, RFC 8288; cursor: the
body's next_cursor sent back as ?cursor=). Prints "pages P items I distinct D" (D
counts KEY, default id), then each page's size; exit 1 past 10,000 pages."""
import json
import re
import sys
import urllib.parse
import urllib.request

style, url = sys.argv[1], sys.argv[2]
key = sys.argv[3] if len(sys.argv) > 3 else "id"
pages, seen, sizes = 0, [], []
first = url
while url and pages < 10000:
    req = urllib.request.Request(url, headers={"Authorization": "Bearer walk"})
    with urllib.request.urlopen(req) as r:
        body = json.load(r)
        link = r.headers.get("Link")
    pages += 1
    sizes.append(len(body["items"]))
    seen += [i[key] for i in body["items"]]
    if style == "page":
        n = body["next_page"]
        url = None if n is None else re.sub(r"([?&])page=\d+", r"\1page=%d" % n, url) \
            if re.search(r"[?&]page=", url) else url + ("&" if "?" in url else "?") + "page=%d" % n
    elif style == "link":
        m = re.search(r'<([^>]*)>;\s*rel="next"', link or "")
        url = m.group(1) if m else None
    else:
        c = body["next_cursor"]
        url = None if c is None else first + ("&" if "?" in first else "?") + "cursor=" + urllib.parse.quote(c)
if pages >= 10000:
    sys.exit(1)
print("pages %d items %d distinct %d" % (pages, len(seen), len(set(seen))))
print(" ".join(map(str, sizes)))
