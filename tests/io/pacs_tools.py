# Helpers of tests/io/test_pacs.sh (Debian's python3 with pydicom; loopback only):
#   ports N                       N free TCP ports on 127.0.0.1
#   mute PORT                     a server that accepts connections and never answers
#   proxy PORT TARGET DELAY       forwards 127.0.0.1:PORT to 127.0.0.1:TARGET, sleeping DELAY s
#                                 per chunk of 4 KiB or more (a slow link for bulk data; killing
#                                 TARGET breaks it mid-transfer)
#   qidocap PORT TARGET CAP LOG [CERT]
#                                 a DICOMweb server in front of 127.0.0.1:TARGET that answers
#                                 QIDO-RS with at most CAP results per request, honours limit /
#                                 offset, and says "Warning: 299" when more follow (as PS3.18
#                                 lets a server do); other requests pass through. Each QIDO-RS
#                                 request's "path?query results" is appended to LOG. With CERT
#                                 (a PEM holding the certificate and its key) it speaks https
#   waitport PORT                 waits (up to 10 s) until 127.0.0.1:PORT accepts connections
#   index DIR                     "SOP Instance UID<TAB>path" of every DICOM file under DIR
#   same A B bytes|values         every SOP instance of folder A is in folder(s) B (B1:B2:..) and equal:
#                                 bytes = the data sets after the File Meta Information are
#                                 byte-identical; values = pydicom finds the same elements
#   many FILE                     lines "description|A|B|mode" -> "description|ok" or "|problem"
#                                 (one python start, each folder indexed once)
#   refs FILE...                  per file: "file SOPClassName study series sop referenced-series..."
import os, socket, sys, threading, time


def ports(n):
    socks, out = [], []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        out.append(str(s.getsockname()[1]))
    for s in socks:
        s.close()
    print(" ".join(out))


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)
    return s


def mute(port):
    s = listener(port)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)


def pipe(a, b, delay):
    try:
        while True:
            d = a.recv(16384)
            if not d:
                break
            if len(d) >= 4096:  # bulk data only: the many small query messages pass at once
                time.sleep(delay)
            b.sendall(d)
    except OSError:
        pass
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        x.close()


def proxy(port, target, delay):
    s = listener(port)
    while True:
        c, _ = s.accept()
        try:
            u = socket.create_connection(("127.0.0.1", int(target)))
        except OSError:
            c.close()
            continue
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pipe, args=(a, b, float(delay)), daemon=True).start()


def files(d):
    for root, _, names in os.walk(d, followlinks=True):
        for n in sorted(names):
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                head = f.read(132)
            if len(head) == 132 and head[128:] == b"DICM":
                yield p


def index(d):
    import pydicom
    out = {}
    for p in files(d):
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        out[str(ds.SOPInstanceUID)] = p
    return out


def dataset_bytes(p):
    with open(p, "rb") as f:
        d = f.read()
    gl = int.from_bytes(d[132 + 8:132 + 12], "little")  # (0002,0000) group length
    return d[132 + 12 + gl:]


def values(ds, prefix=""):
    """Every element's value, nested items included, without group lengths (gggg,0000),
    which depend on the transfer syntax, and without VRs (implicit VR files read OB / OW
    / UN differently); an odd-length value (invalid, dx_image.dcm has one) counts with the
    pad byte a writer adds: what a change of encoding may not change."""
    out = []
    for el in ds:
        if el.tag.element == 0:
            continue
        key = prefix + str(el.tag)
        if el.VR == "SQ":
            for i, item in enumerate(el.value):
                out += values(item, "%s[%d]" % (key, i))
        else:
            v = el.value
            if isinstance(v, (bytes, bytearray)):
                v = bytes(v) + (b"\0" if len(v) % 2 else b"")  # odd lengths are padded on writing
            else:
                v = str(v)
            out.append((key, v))
    return out


_indexes = {}


def cached_index(d):
    if d not in _indexes:
        _indexes[d] = index(d)
    return _indexes[d]


def compare(a, b, mode):
    """Problems (a list of lines) and the count of instances of folder A."""
    import pydicom
    ia, ib = cached_index(a), {}
    for d in b.split(":"):  # B may be several folders
        ib.update(cached_index(d))
    bad = []
    for uid, pa in ia.items():
        pb = ib.get(uid)
        if pb is None:
            bad.append("missing " + uid)
        elif mode == "bytes":
            if dataset_bytes(pa) != dataset_bytes(pb):
                bad.append("bytes differ: %s %s" % (pa, pb))
        else:
            va, vb = values(pydicom.dcmread(pa)), values(pydicom.dcmread(pb))
            if va != vb:
                diff = sorted(set(va) ^ set(vb))[:3]
                bad.append("values differ: %s %s %s" % (pa, pb, [d[0] for d in diff]))
    if not ia:
        bad.append("no DICOM file in " + a)
    return bad, len(ia)


def same(a, b, mode):
    bad, n = compare(a, b, mode)
    for x in bad[:5]:
        print("  " + x)
    print("%d of %d instances equal (%s)" % (n - len(bad), n, mode))
    sys.exit(1 if bad else 0)


def many(path):
    """Lines "description|A|B|mode": prints "description|ok" or "description|problem"."""
    for line in open(path):
        if not line.strip():
            continue
        desc, a, b, mode = line.rstrip("\n").split("|")
        bad, n = compare(a, b, mode)
        print("%s|%s" % (desc, "ok" if not bad else "%s (%d of %d equal)" % (bad[0], n - len(bad), n)))


def refs(p):
    import pydicom
    ds = pydicom.dcmread(p, stop_before_pixels=True)
    print(p, end=" ")
    series = set()

    def walk(d):
        for el in d:
            if el.VR == "SQ":
                for it in el.value:
                    if "SeriesInstanceUID" in it:
                        series.add(str(it.SeriesInstanceUID))
                    walk(it)

    walk(ds)
    print(ds.SOPClassUID.name.replace(" ", ""), ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, " ".join(sorted(series)))


def qidocap(port, target, cap, log, cert=None):
    import http.server, json, urllib.parse, urllib.request
    cap = int(cap)

    class H(http.server.BaseHTTPRequestHandler):
        def forward(self, body=None):
            u = urllib.parse.urlsplit(self.path)
            qido = self.command == "GET" and u.path.rstrip("/").rsplit("/", 1)[-1] in ("studies", "series", "instances")
            q = urllib.parse.parse_qsl(u.query)
            keep = [(k, v) for k, v in q if k not in ("limit", "offset")]
            url = "http://127.0.0.1:%s%s" % (target, u.path + ("?" + urllib.parse.urlencode(keep) if keep else ""))
            req = urllib.request.Request(url, data=body, method=self.command)
            for k in ("Accept", "Content-Type"):
                if self.headers.get(k):
                    req.add_header(k, self.headers[k])
            try:
                r = urllib.request.urlopen(req, timeout=60)
                status, headers, data = r.status, r.headers, r.read()
            except urllib.error.HTTPError as x:
                status, headers, data = x.code, x.headers, x.read()
            extra = []
            if qido and status == 200:
                allr = json.loads(data or b"[]")
                d = dict(q)
                off, lim = int(d.get("offset", 0)), min(int(d.get("limit", cap)), cap)
                page = allr[off:off + lim]
                data = json.dumps(page).encode()
                if off + len(page) < len(allr):
                    extra.append(("Warning", '299 c2seg-test: "There are additional results that can be requested"'))
                with open(log, "a") as f:
                    f.write("%s %d\n" % (self.path, len(page)))
            self.send_response(status)
            for k in ("Content-Type",):
                if headers.get(k):
                    self.send_header(k, headers[k])
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.forward()

        def do_POST(self):
            self.forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
    if cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ports":
        ports(*args)
    elif cmd == "mute":
        mute(*args)
    elif cmd == "proxy":
        proxy(*args)
    elif cmd == "qidocap":
        qidocap(*args)
    elif cmd == "waitport":
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", int(args[0])), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("nothing listens on port " + args[0])
    elif cmd == "index":
        for uid, p in sorted(index(args[0]).items()):
            print(uid + "\t" + p)
    elif cmd == "same":
        same(*args)
    elif cmd == "many":
        many(*args)
    elif cmd == "refs":
        for p in args:
            refs(p)
    else:
        sys.exit("unknown command " + cmd)
