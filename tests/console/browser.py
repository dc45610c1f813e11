"""The console in headless Chromium (Debian's chromium + chromium-driver, python3-selenium):
signs in, opens pages, approves a hold, checks what a viewer sees; prints one line per
check for tests/console/run.sh to compare, and saves a screenshot of each page.
usage: browser.py ROOT APPROVER_TOKEN VIEWER_TOKEN HOLD_ID WEBHOOK_EXEC SHOTS_DIR"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

root, approver, viewer, hold, hook_exec, shots = sys.argv[1:7]

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
    page("#/incomplete", "#incomplete")
    shot("incomplete")
    page("#/queues", "#queues")
    shot("queues")
    page("#/versions", "#versions")
    shot("versions")

    print("viewer signed in as:", sign_in(viewer))
    page(f"#/hold/{hold}", "#diff")
    print("viewer sees approve button:", bool(drv.find_elements(By.ID, "approve")))
    status = drv.execute_script(
        "const r = await fetch('/api/v1/holds/%s/approve', {method: 'POST', headers: "
        "{Authorization: 'Bearer ' + sessionStorage.getItem('token')}}); return r.status;" % hold)
    print("viewer API approve:", status)
finally:
    drv.quit()
