"""The console in headless Chromium (Debian's chromium + chromium-driver, python3-selenium):
signs in, opens pages, approves a hold, checks what a viewer sees; prints one line per
check for tests/console/run.sh to compare, and saves a screenshot of each page.
usage: browser.py ROOT APPROVER_TOKEN VIEWER_TOKEN HOLD_ID WEBHOOK_EXEC SHOTS_DIR ADMIN_TOKEN
                  OPERATOR_TOKEN"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

root, approver, viewer, hold, hook_exec, shots, admin, operator = sys.argv[1:9]

opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(drv, 60)  # returns as soon as the page is there; a loaded CI machine is slow


def sign_in(token):
    drv.get(root + "/console/")
    drv.execute_script("sessionStorage.clear()")
    drv.get(root + "/console/")
    wait.until(EC.visibility_of_element_located((By.ID, "token"))).send_keys(token)
    drv.find_element(By.ID, "signin").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "who"), "("))
    drawn("#/dashboard")
    return text("#who").replace(" Sign out", "")


def drawn(hash_):
    wait.until(lambda d: d.execute_script("return document.getElementById('main').dataset.ready")
               == hash_)


def page(hash_, ready):
    drv.get(root + "/console/" + hash_)
    drawn(hash_)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ready)))


def text(css):
    """An element's text; the live list may redraw it meanwhile, so read again."""
    for _ in range(5):
        try:
            return drv.find_element(By.CSS_SELECTOR, css).text
        except StaleElementReferenceException:
            pass
    return drv.find_element(By.CSS_SELECTOR, css).text


def shot(name):
    drv.save_screenshot(f"{shots}/{name}.png")


def resolve_in_queue():
    """The operator resolves the reconciliation item: refused without a note, then with one;
    the audit page names who approved and who resolved."""
    print("operator signed in as:", sign_in(operator))
    page("#/queues?name=reconciliation", "#items")
    item = drv.find_element(By.CSS_SELECTOR, "#items button[data-item]").get_attribute("data-item")
    drv.find_element(By.CSS_SELECTOR, "#items button[data-item]").click()
    WebDriverWait(drv, 60).until(EC.alert_is_present()).accept()
    still = drv.find_elements(By.CSS_SELECTOR, f"#note-{item}")
    print("resolve without a note:", "the item stays open" if still else "it was resolved")
    drv.execute_script("document.getElementById(arguments[0]).value = arguments[1]", f"note-{item}", "\u00e9" * 2001)
    drv.find_element(By.CSS_SELECTOR, f"button[data-item='{item}']").click()
    al = WebDriverWait(drv, 60).until(EC.alert_is_present())
    print("a note of 2001 x e-acute:", al.text)  # 4002 bytes: the server's limit is 4000 bytes
    al.accept()
    drv.find_element(By.ID, f"note-{item}").clear()
    drv.find_element(By.ID, f"note-{item}").send_keys("pay rate corrected in the HRIS")
    shot("queues")
    drv.find_element(By.CSS_SELECTOR, f"button[data-item='{item}']").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "resolved"), "pay rate corrected"))
    for row in drv.find_elements(By.CSS_SELECTOR, "#resolved tbody tr"):  # the week's items too
        cells = {td.get_attribute("data-label"): td.text for td in row.find_elements(By.TAG_NAME, "td")}
        if cells.get("Note", "").startswith("pay rate corrected"):
            break
    print("resolved:", cells["By"], "|", cells["Note"])
    page("#/audit", "#audit")
    rows = []
    for tr in drv.find_elements(By.CSS_SELECTOR, "#audit tbody tr"):
        c = {td.get_attribute("data-label"): td.text for td in tr.find_elements(By.TAG_NAME, "td")}
        if c.get("Action") in ("approve", "resolve"):
            rows.append(f"{c['Action']} {c['Sent to']} {c['By']}")
    print("audit:", " | ".join(rows))
    shot("audit")


try:
    print("approver signed in as:", sign_in(approver))
    page("#/dashboard", "#metric-hold_rate")
    print("dashboard hold rate:", text("#metric-hold_rate .big"), text("#metric-hold_rate .target"))
    print("dashboard failure rate:", text("#metric-failure_rate .big"),
          text("#metric-failure_rate .target"))
    shot("dashboard")
    page("#/holds", "#holds")
    shot("holds")
    page(f"#/hold/{hold}", "#diff")
    cells = [d.text for d in drv.find_elements(By.CSS_SELECTOR, "#diff div")]
    print("diff:", " | ".join(cells))
    shot("hold")
    drv.set_window_size(390, 844)
    shot("hold-phone")
    drv.set_window_size(1280, 900)
    drv.find_element(By.ID, "reason").send_keys("pay rate checked with HR")
    drv.find_element(By.ID, "approve").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "state"), "approved"))
    print("after approve:", text("#state"), "by", text("#decided-by"))
    page("#/executions", "#executions")
    wait.until(EC.text_to_be_present_in_element((By.ID, "executions"), hook_exec))
    print("executions lists the webhook:", hook_exec in text("#executions"))
    shot("executions")
    page(f"#/execution/{hook_exec}", "#steps")
    print("execution status:", text("#status"))
    shot("execution")
    drv.find_element(By.LINK_TEXT, "note").click()
    drawn("#/step/console-hook/draft/note")
    print("the step's sent_from page:", text("#step-version"), text("#step").replace("\n", " "))
    page("#/incomplete", "#incomplete")
    shot("incomplete")
    page("#/queues", "#depth-reconciliation")
    bars = drv.find_elements(By.CSS_SELECTOR, "#depth-reconciliation rect")
    titles = [b.find_element(By.TAG_NAME, "title").get_attribute("textContent") for b in bars]
    print("queue depth chart:", len(bars), "bars:", " ".join(t.split(": ")[1].split()[0] for t in titles),
          f"({titles[0].split(':')[0]} to {titles[-1].split(':')[0]})")
    shot("queues")

    print("admin signed in as:", sign_in(admin))
    page("#/versions", "#drafts")
    drv.find_element(By.CSS_SELECTOR, "button[data-deploy='console-payroll']").click()
    drawn("#/versions?name=console-payroll")
    wait.until(EC.presence_of_element_located((By.ID, "history")))
    print("after deploy:", " | ".join(td.text for td in drv.find_elements(By.CSS_SELECTOR, "#history tbody td")
                                      if td.get_attribute("data-label") in ("Version", "Origin", "Message")))
    shot("versions")

    resolve_in_queue()
    print("viewer signed in as:", sign_in(viewer))
    page(f"#/hold/{hold}", "#diff")
    print("viewer sees approve button:", bool(drv.find_elements(By.ID, "approve")))
    page("#/versions", "#drafts")
    print("viewer sees deploy buttons:", bool(drv.find_elements(By.CSS_SELECTOR, "button[data-deploy], #deploy-file")))
    status = drv.execute_script(
        "const r = await fetch('/api/v1/holds/%s/approve', {method: 'POST', headers: "
        "{Authorization: 'Bearer ' + sessionStorage.getItem('token')}}); return r.status;" % hold)
    print("viewer API approve:", status)
finally:
    drv.quit()
