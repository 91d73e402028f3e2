#!/usr/bin/env python3
"""The explorer in a real headless Chromium (driven by Selenium) against a
real arbord whose log holds a certificate with an exact name and subdomains,
a wildcard, a precertificate and one with a hostile subject, and whose chain
was mined by the real arbor-wallet (102 blocks, one payment). Every page must
load with no console error, every link on it must lead to a page that
answers 200 (the chain plots and the peers page among them), the search box must find a block by height and by hash, a
transaction, a log entry and certificates by domain, and the hostile subject
must show as text (no markup, no script). A second arbord connects over the
peer network, so the peers pages show a real row on each side. The waiting
payment has its own page until a block confirms it; the tree heads page
lists every signed head (checked with openssl); domain results come newest
first on request. Screenshots go to the directory given as the second
argument.

Names and anchors (put on the chain by names_fixture) get their pages: a
name with its record and history, its namespace, a log's anchored heads,
found from the search box by name, namespace and log ID.

usage: test_explorer_browser.py ARBORD SCREENSHOT_DIR ARBOR_WALLET NAMES_FIXTURE
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
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
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


def verify_sth(d, h):
    """Checks an RFC 6962 tree head (3.5) from its JSON with openssl alone:
    the log key is the data directory's log-key.pem."""
    pub = os.path.join(d, 'log-pub.pem')
    if not os.path.exists(pub):
        sh('openssl ec -in data/log-key.pem -pubout -out log-pub.pem', d)
    sig = base64.b64decode(h['tree_head_signature'])
    if sig[0] != 4 or sig[1] != 3 or int.from_bytes(sig[2:4], 'big') != len(sig) - 4:
        return False
    tbs = (bytes([0, 1]) + h['timestamp'].to_bytes(8, 'big') + h['tree_size'].to_bytes(8, 'big') +
           base64.b64decode(h['sha256_root_hash']))
    with open(os.path.join(d, 'sth.bin'), 'wb') as f:
        f.write(tbs)
    with open(os.path.join(d, 'sth.sig'), 'wb') as f:
        f.write(sig[4:])
    r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', pub, '-signature', 'sth.sig',
                        'sth.bin'], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def main():
    arbord, shots, wallet, fixture = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='arbor-browser-')
    proc = None
    peer = None
    driver = None
    try:
        root, chains = make_certs(tmp)
        proc = subprocess.Popen([arbord, '--datadir', os.path.join(tmp, 'data'), '--listen',
                                 '127.0.0.1:0', '--network', 'regtest', '--json', '--log-roots',
                                 os.path.join(tmp, 'root.pem')],
                                stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, 'err'), 'w'))
        line = json.loads(proc.stdout.readline())
        base = 'http://127.0.0.1:%d' % line['port']
        port = line['port']
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

        # A second arbord connected to the first over the peer network, so the
        # peers pages have a real row on each side.
        peer = subprocess.Popen([arbord, '--datadir', os.path.join(tmp, 'peer'), '--listen',
                                 '127.0.0.1:0', '--network', 'regtest', '--json', '--connect',
                                 '127.0.0.1:%d' % port],
                                stdout=subprocess.PIPE,
                                stderr=open(os.path.join(tmp, 'peer-err'), 'w'))
        peer_line = json.loads(peer.stdout.readline())
        peer_base = 'http://127.0.0.1:%d' % peer_line['port']
        connected = False
        for _ in range(400):
            a = json.loads(http(base + '/p2p/v1/peers')[1] or b'{}').get('peers', [])
            b = json.loads(http(peer_base + '/p2p/v1/peers')[1] or b'{}').get('peers', [])
            if (len(a) == 1 and a[0].get('handshaked') and len(b) == 1 and
                    b[0].get('handshaked')):
                connected = True
                break
            time.sleep(0.05)
        check(connected, 'the second node connects to the first')
        inbound = a[0] if connected else {}
        outbound = b[0] if connected else {}

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

            def gone(_):
                # Chromium may answer a question about an element of the
                # page being replaced with "Node with given id does not
                # belong to the document" instead of "stale element": that
                # too means the old page is gone.
                try:
                    return EC.staleness_of(old)(driver)
                except WebDriverException as e:
                    if 'does not belong to the document' in str(e):
                        return True
                    raise
            WebDriverWait(driver, 60).until(gone)
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
        # The waiting transaction's own page: unconfirmed, its fee and fee rate,
        # no ancestors or descendants in the pool, the amounts its inputs spend.
        pool_link = driver.find_elements(By.LINK_TEXT, waiting['txid'])
        check(len(pool_link) == 1, 'the waiting transaction is linked from the mempool page')
        if pool_link:
            navigate(pool_link[0].click)
            page_ok('mempool transaction page', 'mempooltx')
            check(driver.find_elements(By.ID, 'tx-unconfirmed'), 'it is marked unconfirmed')
            check(driver.find_element(By.ID, 'txid').text == waiting['txid'], 'the pool txid')
            check(driver.find_element(By.ID, 'tx-fee').text == waiting['fee'], 'the pool fee')
            check('units per byte' in driver.find_element(By.ID, 'tx-fee-rate').text,
                  'the pool fee rate')
            check(driver.find_element(By.ID, 'tx-ancestors').text == '0', 'no ancestors')
            check(driver.find_element(By.ID, 'tx-descendants').text == '0', 'no descendants')
            ins = driver.find_element(By.ID, 'tx-inputs').text
            check('rarb1' in ins and '.' in ins and 'not known' not in ins,
                  'the inputs show the amounts they spend: %r' % ins)
        search(waiting['txid'])
        page_ok('mempool tx by search')
        check(driver.find_elements(By.ID, 'tx-unconfirmed'), 'txid search finds a waiting tx')

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

        # The peers page: the second node, inbound here and outbound there.
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'peers-link').click)
        page_ok('peers page', 'peers')
        check(driver.find_element(By.ID, 'peer-count').text == '1', 'one peer connected')
        rows = driver.find_elements(By.CSS_SELECTOR, '#peers tr')
        check(len(rows) == 2, 'the peers table has a row')
        if len(rows) == 2:
            cells = [c.text for c in rows[1].find_elements(By.TAG_NAME, 'td')]
            check(cells[0] == inbound.get('address'), 'the row shows the peer address: %r vs %r'
                  % (cells[0], inbound.get('address')))
            check(cells[0].startswith('127.0.0.1'), 'a loopback address: %r' % cells[0])
            check(cells[1] == 'inbound', 'the row shows the direction: %r' % cells[1])
        check(driver.find_elements(By.ID, 'no-bans'), 'no bans')
        driver.get(peer_base + '/peers')
        page_ok('peers page of the second node', 'peers-outbound')
        rows = driver.find_elements(By.CSS_SELECTOR, '#peers tr')
        check(len(rows) == 2, 'the second node lists the first')
        if len(rows) == 2:
            cells = [c.text for c in rows[1].find_elements(By.TAG_NAME, 'td')]
            check(cells[0] == outbound.get('address') and cells[0].startswith('127.0.0.1'),
                  'the first node address: %r vs %r' % (cells[0], outbound.get('address')))
            check(cells[1] == 'outbound', 'outbound: %r' % cells[1])
        driver.get(base + '/')  # back to the first node (its search box)

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

        # Newest first: the same certificates, by entry (the log's time order).
        driver.get(base + '/log/domain?subdomains=1&domain=example.org')
        navigate(driver.find_element(By.ID, 'order-date').click)
        page_ok('domain results newest first', 'domain-date')
        rows = driver.find_elements(By.CSS_SELECTOR, '#results tr')
        got = [(int(r.find_elements(By.TAG_NAME, 'td')[0].text),
                r.find_elements(By.TAG_NAME, 'td')[1].text) for r in rows[1:]]
        want = sorted(got, key=lambda x: (-x[0], x[1]))
        check(got == want and len(got) == len(names), 'newest first: %r' % got)
        check(driver.find_elements(By.ID, 'order-index'), 'a link back to the index order')

        # The tree heads: one per submission and the empty tree's, each valid.
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'heads-link').click)
        page_ok('tree heads page', 'heads')
        st, raw = http(base + '/log/v1/sth-history')
        heads = json.loads(raw)['sths'] if st == 200 else []
        check([h['tree_size'] for h in heads] == list(range(len(chains) + 1)),
              'a head per submission: %r' % [h['tree_size'] for h in heads])
        rows = driver.find_elements(By.CSS_SELECTOR, '#heads tr')[1:]
        sizes = [r.find_element(By.CLASS_NAME, 'size').text for r in rows]
        check(sizes == [str(h['tree_size']) for h in reversed(heads)],
              'the page lists the heads newest first: %r' % sizes)
        check(len(driver.find_elements(By.CSS_SELECTOR, '#heads .sig-ok')) == len(heads),
              'every signature checks')
        check(len(driver.find_elements(By.CSS_SELECTOR, '#heads-plot circle')) == len(heads),
              'the plot has a point per head')
        check(all(verify_sth(tmp, h) for h in heads), 'the JSON heads verify with openssl')

        # The waiting transaction confirms: the same URL shows the confirmed view.
        run_wallet('mine', '--blocks', '1', '--threads', '1')
        driver.get(base + '/chain/tx/' + waiting['txid'])
        page_ok('confirmed transaction page', None)
        check(not driver.find_elements(By.ID, 'tx-unconfirmed'), 'no longer unconfirmed')
        check('Confirmations' in driver.page_source and
              driver.find_element(By.ID, 'tx-fee').text == waiting['fee'],
              'the confirmed view with its block and fee')

        # Names and anchors: a namespace, a name (registered, then updated) and
        # two anchored heads of a log, put on the chain by names_fixture.
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'log-anchors-link').click)
        page_ok('this log\'s anchors (none yet)', None)
        check(driver.find_elements(By.ID, 'no-anchors'), 'this node\'s log has no anchors')
        fx = json.loads(subprocess.run([fixture, str(port)], check=True,
                                       stdout=subprocess.PIPE).stdout)
        driver.get(base + '/')
        search(fx['name'])
        page_ok('name page', 'name')
        check(driver.find_element(By.ID, 'name').text == fx['name'], 'name search finds it')
        check(driver.find_element(By.ID, 'name-status').text == 'active', 'the name is active')
        check(driver.find_element(By.ID, 'name-owner').text == fx['address'], 'its owner')
        check(driver.find_element(By.ID, 'name-zonefile').text == fx['zonefile_hash'],
              'its current zone-file hash')
        rows = driver.find_elements(By.CSS_SELECTOR, '#name-history tr')[1:]
        hist = [(r.find_elements(By.TAG_NAME, 'td')[0].text,
                 r.find_element(By.CLASS_NAME, 'op').text) for r in rows]
        check(hist == [(str(fx['register_height']), 'name-register'),
                       (str(fx['update_height']), 'name-update')], 'its history: %r' % hist)
        navigate(driver.find_element(By.ID, 'name-namespace').click)
        page_ok('namespace page', 'namespace')
        check(driver.find_element(By.ID, 'namespace').text == fx['namespace'], 'the namespace')
        check(driver.find_element(By.ID, 'namespace-status').text == 'ready', 'it is ready')
        check(driver.find_element(By.ID, 'namespace-lifetime').text == '1000 blocks',
              'its names live 1000 blocks')
        search(fx['namespace'])
        page_ok('namespace by search')
        check(driver.find_elements(By.ID, 'namespace'), 'namespace search finds it')
        driver.get(base + '/')
        navigate(driver.find_element(By.ID, 'anchors-link').click)
        page_ok('anchored logs page', None)
        logs = driver.find_elements(By.LINK_TEXT, fx['log_id'])
        check(len(logs) == 1, 'the anchored log is listed')
        if logs:
            navigate(logs[0].click)
            page_ok('anchors page', 'anchors')
            sizes = [c.text for c in driver.find_elements(By.CSS_SELECTOR, '#anchors .size')]
            check(sizes == ['8', '16'], 'both anchored heads, oldest first: %r' % sizes)
            blocks = [r.find_elements(By.TAG_NAME, 'td')[0].text
                      for r in driver.find_elements(By.CSS_SELECTOR, '#anchors tr')[1:]]
            check(blocks == [str(a['height']) for a in fx['anchors']],
                  'in the blocks that anchored them: %r' % blocks)
        search(fx['log_id'])
        page_ok('anchors by search')
        check(driver.find_element(By.ID, 'anchor-log').text == fx['log_id'],
              'a log ID search finds its anchors')
        st, _ = http(base + '/names/name/nobody.' + fx['namespace'])
        check(st == 404, 'an unknown name is 404: %d' % st)
        st, _ = http(base + '/chain/anchors/xyz')
        check(st == 400, 'a bad log ID is 400: %d' % st)
    finally:
        if driver is not None:
            driver.quit()
        for other in [peer]:
            if other is not None:
                other.send_signal(signal.SIGTERM)
                try:
                    other.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    other.kill()
                    check(False, 'the second arbord did not stop')
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
