#!/usr/bin/env python3
"""The explorer in a real headless Chromium (driven by Selenium) against a
real arbord whose log holds a certificate with an exact name and subdomains,
a wildcard, a precertificate and one with a hostile subject, and whose chain
was mined by the real arbor-wallet (102 blocks, one payment). Every page must
load with no console error, every link on it must lead to a page that
answers 200 (the chain plots and the peers page among them), the search box must find a block by height and by hash, a
transaction, a log entry and certificates by domain, and the hostile subject
must show as text (no markup, no script). Screenshots go to the directory
given as the second argument.

usage: test_explorer_browser.py ARBORD SCREENSHOT_DIR ARBOR_WALLET
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

FAILS = []
HOSTILE_CN = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print('FAIL: ' + what, file=sys.stderr)


def sh(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, shell=True, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certs(d):
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key "
       "-out root.pem -days 30 -subj '/CN=Browser Test Root' "
       "-addext basicConstraints=critical,CA:TRUE", d)
    specs = [
        ('example', '/CN=example.org', 'subjectAltName=DNS:example.org,DNS:www.example.org'),
        ('wild', '/CN=wildcard', 'subjectAltName=DNS:*.example.org'),
        ('pre', '/CN=pre.example.org',
         'subjectAltName=DNS:pre.example.org\n1.3.6.1.4.1.11129.2.4.3=critical,DER:05:00'),
        ('hostile', '/CN=' + HOSTILE_CN.replace('/', '\\/') + '/O=Evil "Corp" & Sons',
         'subjectAltName=DNS:evil.example.org'),
    ]
    chains = []
    for i, (name, subj, ext) in enumerate(specs):
        with open(os.path.join(d, name + '.cnf'), 'w') as f:
            f.write(ext + '\n')
        sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
           "-out %s.csr -subj '%s'" % (name, name, subj.replace("'", "'\\''")), d)
        sh("openssl x509 -req -in %s.csr -CA root.pem -CAkey root.key -set_serial %d -days 20 "
           "-extfile %s.cnf -out %s.pem" % (name, 100 + i, name, name), d)
        chains.append((name, der_b64(d, name + '.pem')))
    return der_b64(d, 'root.pem'), chains


def der_b64(d, pem):
    out = subprocess.run(['openssl', 'x509', '-in', os.path.join(d, pem), '-outform', 'DER'],
                         check=True, stdout=subprocess.PIPE).stdout
    return base64.b64encode(out).decode()


def http(url, body=None):
    req = urllib.request.Request(url, data=body,
                                 headers={'Content-Type': 'application/json'} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    arbord, shots, wallet = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='arbor-browser-')
    proc = None
    driver = None
    try:
        root, chains = make_certs(tmp)
        proc = subprocess.Popen([arbord, '--datadir', os.path.join(tmp, 'data'), '--listen',
                                 '127.0.0.1:0', '--network', 'regtest', '--json', '--log-roots',
                                 os.path.join(tmp, 'root.pem')],
                                stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, 'err'), 'w'))
        line = json.loads(proc.stdout.readline())
        base = 'http://127.0.0.1:%d' % line['port']
        index = {}
        for i, (name, der) in enumerate(chains):
            path = '/ct/v1/add-pre-chain' if name == 'pre' else '/ct/v1/add-chain'
            st, _ = http(base + path, json.dumps({'chain': [der, root]}).encode())
            check(st == 200, 'submit %s: %d' % (name, st))
            index[name] = i

        # The chain: 101 blocks to the wallet, a payment, one more block.
        env = dict(os.environ, ARBOR_PASSPHRASE='explorer test')
        w = [wallet, '--node', base, '--wallet', os.path.join(tmp, 'w.json'), '--json']

        def run_wallet(*args):
            out = subprocess.run(w + list(args), env=env, check=True,
                                 stdout=subprocess.PIPE).stdout.decode()
            try:
                return json.loads(out)
            except json.JSONDecodeError:  # mine: a JSON line per block; the last counts
                return json.loads(out.strip().splitlines()[-1])
        run_wallet('--network', 'regtest', '--scrypt-log2n', '1', 'create')
        run_wallet('mine', '--blocks', '101', '--threads', '1')
        to = run_wallet('address')['address']
        paid = run_wallet('send', to, '1')
        mined = run_wallet('mine', '--blocks', '1', '--threads', '1')
        check(mined['height'] == 102, 'the chain is 102 blocks high')
        waiting = run_wallet('send', run_wallet('address')['address'], '2')  # stays in the mempool

        opts = Options()
        opts.binary_location = '/usr/bin/chromium'
        for a in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run',
                  '--user-data-dir=' + os.path.join(tmp, 'chromium'), '--window-size=1280,900']:
            opts.add_argument(a)
        opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=opts)
        driver.set_page_load_timeout(60)

        visited = set()

        def navigate(action):
            """Runs a click or a form submit and waits for the new page to load."""
            old = driver.find_element(By.TAG_NAME, 'html')
            action()
            WebDriverWait(driver, 60).until(EC.staleness_of(old))
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script('return document.readyState') == 'complete')

        def search(text):
            box = driver.find_element(By.NAME, 'q')
            box.send_keys(text)
            navigate(box.submit)

        def page_ok(what, shot=None):
            logs = [l for l in driver.get_log('browser') if l.get('level') == 'SEVERE']
            check(not logs, '%s: console errors %r' % (what, logs))
            try:
                driver.switch_to.alert
                check(False, '%s: a script ran (an alert is open)' % what)
            except NoAlertPresentException:
                pass
            if shot:
                driver.save_screenshot(os.path.join(shots, shot + '.png'))
            # Every link leads to a page that answers 200.
            for a in driver.find_elements(By.TAG_NAME, 'a'):
                href = a.get_attribute('href')
                if not href or not href.startswith(base) or href in visited:
                    continue
                visited.add(href)
                st, _ = http(href)
                check(st == 200, '%s: link %s answers %d' % (what, href, st))

        # Start page.
        driver.get(base + '/')
        page_ok('start page', 'start')
        check(driver.find_element(By.ID, 'tree-size').text == str(len(chains)),
              'start page shows the tree size')
        check(len(driver.find_elements(By.CSS_SELECTOR, '#recent tr')) == len(chains) + 1,
              'start page lists the latest entries')
        line = driver.find_elements(By.CSS_SELECTOR, '#log-growth polyline')
        pts = line[0].get_attribute('points').split() if line else []
        check(len(pts) == len(chains), 'the log growth plot has a point per entry: %r' % pts)

        # The chain: latest block -> its transactions -> the payment.
        rows = driver.find_elements(By.CSS_SELECTOR, '#recent-blocks tr')
        check(len(rows) == 11, 'start page lists 10 blocks')
        navigate(driver.find_element(By.CSS_SELECTOR, '#recent-blocks a').click)
        page_ok('block page', 'block')
        check(driver.find_element(By.ID, 'block-height').text == '102', 'the tip block is 102')
        check(driver.find_element(By.ID, 'block-hash').text == mined['hash'], 'the block hash')
        txs = driver.find_elements(By.CSS_SELECTOR, '#block-txs tr')
        check(len(txs) == 3, 'block 102 has the coinbase and the payment')
        pay = [a for a in driver.find_elements(By.CSS_SELECTOR, '#block-txs a')
               if a.text == paid['txid']]
        check(len(pay) == 1, 'the payment is listed in its block')
        if pay:
            navigate(pay[0].click)
            page_ok('transaction page', 'tx')
            check(driver.find_element(By.ID, 'txid').text == paid['txid'], 'the txid')
            ins = driver.find_element(By.ID, 'tx-inputs').text
            check('50.00000000' in ins and 'rarb1' in ins, 'the input shows what it spends')
            check(driver.find_element(By.ID, 'tx-fee').text == paid['fee'], 'the fee')
            outs = driver.find_element(By.ID, 'tx-outputs').text
            check(to in outs and '1.00000000' in outs, 'the outputs')
            navigate(driver.find_element(By.LINK_TEXT, to).click)
            page_ok('address page', 'address')
            check(driver.find_element(By.ID, 'addr-balance').text == '1.00000000',
                  'the address holds the payment')
            hist = driver.find_element(By.ID, 'addr-history').text
            check(paid['txid'] in hist, 'the address history lists the payment')
        search(to)
        page_ok('address by search')
        check(driver.find_element(By.ID, 'address').text == to, 'address search')
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'mempool-link').click)
        page_ok('mempool page', 'mempool')
        check(driver.find_element(By.ID, 'mempool-count').text == '1', 'one transaction waits')
        check(waiting['txid'] in driver.find_element(By.ID, 'mempool-txs').text,
              'the waiting payment is listed')
        check(len(driver.find_elements(By.CSS_SELECTOR, '#fee-histogram rect')) == 8,
              'the fee-rate histogram has its 8 bands')

        # The chain plots: interval and difficulty of the 102 blocks after genesis.
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'chain-stats-link').click)
        page_ok('chain stats page', 'chainstats')
        check(driver.find_element(By.ID, 'plot-blocks').text == '102', 'the plots cover 102 blocks')
        for plot in ['interval-plot', 'difficulty-plot']:
            line = driver.find_elements(By.CSS_SELECTOR, '#%s polyline' % plot)
            pts = line[0].get_attribute('points').split() if line else []
            check(len(pts) == 102, '%s has a point per block: %d' % (plot, len(pts)))
        check(driver.find_element(By.ID, 'difficulty').text == '1',
              'regtest mines at difficulty 1')
        st, _ = http(base + '/chain/stats?blocks=0')
        check(st == 400, 'a block count of 0 is refused: %d' % st)

        # The peers page: this node has no peers and no bans.
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'peers-link').click)
        page_ok('peers page', 'peers')
        check(driver.find_element(By.ID, 'peer-count').text == '0', 'no peers connected')
        check(driver.find_elements(By.ID, 'no-bans'), 'no bans')

        search('101')
        page_ok('block by height')
        check(driver.find_element(By.ID, 'block-height').text == '101', 'height search')
        search(mined['hash'])
        page_ok('block by hash')
        check(driver.find_element(By.ID, 'block-height').text == '102', 'hash search')
        search(paid['txid'])
        page_ok('tx by txid')
        check(driver.find_element(By.ID, 'txid').text == paid['txid'], 'txid search')

        # Search a domain from the header box: with subdomains.
        search('Example.org')
        page_ok('domain results', 'domain')
        check('/log/domain' in driver.current_url, 'domain search lands on the results page')
        rows = driver.find_elements(By.CSS_SELECTOR, '#results tr')
        names = [r.find_elements(By.TAG_NAME, 'td')[1].text for r in rows[1:]]
        for want in ['example.org', 'www.example.org', '*.example.org', 'pre.example.org',
                     'evil.example.org']:
            check(want in names, 'domain results list %s (got %r)' % (want, names))
        check('precert' in driver.find_element(By.ID, 'results').text,
              'the precertificate is marked')

        # A result's entry link leads to that entry.
        link = driver.find_element(By.CSS_SELECTOR, '#results tr td a')
        n = link.text
        navigate(link.click)
        page_ok('entry page', 'entry')
        check(driver.find_element(By.ID, 'leaf-index').text == n, 'entry link leads to entry ' + n)
        check('Inclusion proof' in driver.page_source, 'entry page has the inclusion proof')

        # Search by entry index.
        search('entry %d' % index['pre'])
        page_ok('entry by index')
        check(driver.find_element(By.ID, 'leaf-index').text == str(index['pre']),
              'index search finds the entry')
        check('precertificate' in driver.page_source, 'the precert entry says so')

        # The hostile certificate: its subject is text.
        driver.get(base + '/log/entry/%d' % index['hostile'])
        page_ok('hostile entry', 'hostile')
        subj = driver.find_element(By.ID, 'subject').text
        # RFC 2253 puts a backslash before < and >; the characters themselves show.
        check('<script' in subj and 'alert(1)' in subj and '<img src=x onerror=alert(2)' in subj,
              'the hostile subject shows as text: %r' % subj)
        check(not driver.find_elements(By.CSS_SELECTOR, '#subject script, #subject img'),
              'no markup from the certificate')
        st, raw = http(base + '/log/entry/%d' % index['hostile'])
        check(st == 200 and b'<script' not in raw and b'<img' not in raw and b'&lt;script' in raw,
              'the HTML source is escaped')

        # Exact name only, and a search that finds nothing.
        driver.get(base + '/log/domain?domain=www.example.org')
        page_ok('exact name', None)
        check(len(driver.find_elements(By.CSS_SELECTOR, '#results tr')) == 2,
              'exact search finds one entry')
        search('no such thing!')
        page_ok('no results', 'noresults')
        check('No results' in driver.title, 'a search with no match says so')
        driver.get(base + '/log/domain?domain=nothing.invalid')
        page_ok('empty domain', None)
        check(driver.find_elements(By.ID, 'no-results'), 'an unknown domain has no results')
    finally:
        if driver is not None:
            driver.quit()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=30)
                check(rc == 0, 'arbord exit status %d' % rc)
            except subprocess.TimeoutExpired:
                proc.kill()
                check(False, 'arbord did not stop')
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d failed' % len(FAILS))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
