import tempfile, time, subprocess
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
o = webdriver.ChromeOptions(); o.binary_location="/usr/bin/chromium"
for a in ["--headless=new","--no-sandbox","--window-size=800,420",f"--user-data-dir={tempfile.mkdtemp()}"]: o.add_argument(a)
d = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=o)
d.get("http://localhost:5080/index.html")
time.sleep(0.3)
d.find_element(By.ID,"name").send_keys("bob\n"); time.sleep(1.5)
d.save_screenshot("/tmp/webtry/down.png")
print(d.find_element(By.ID,"status").text, "|", d.find_element(By.ID,"join-error").text)
d.quit()
