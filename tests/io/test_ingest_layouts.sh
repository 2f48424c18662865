#!/bin/sh
# `c2seg ingest` on the LViT and GuideDecoder slice-dataset layouts, built by this test from
# real QaTa PNGs: LViT {Train,Val,Test}_Folder/{img,labelcol} with SPLIT_text.xlsx workbooks
# (a minimal Office Open XML zip written with python's zipfile, shared strings like the real
# LViT workbooks) and GuideDecoder SPLIT/{Images,GTs} + prompt/SPLIT.csv. The expected split
# counts and captions are the ones the test wrote (taken from SGSeg's annotation.json).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_ingest_layouts
S="$C2SEG_SHARED/data"

$PY - "$S" "$T" >"$T/expected.json" <<'EOF' ; check "layouts written" $?
import json, os, shutil, sys, zipfile
from xml.sax.saxutils import escape
S, T = sys.argv[1:3]
ann = json.load(open(f'{S}/text/sgseg_qata/annotation.json'))
caption = {r['image_path'].removeprefix('mask_'): r['caption'] for k in ('train', 'valid') for r in ann[k]}
names = sorted(os.listdir(f'{S}/qata/train/images'))[:7]
plan = {'train': names[:3], 'valid': names[3:5], 'test': names[5:7]}
def xlsx(path, rows):
    strings = []
    def sid(s):
        if s not in strings: strings.append(s)
        return strings.index(s)
    cells = ''.join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{sid(a)}</v></c><c r="B{i + 1}" t="s"><v>{sid(b)}</v></c></row>'
                    for i, (a, b) in enumerate([('Image', 'Description')] + rows))
    ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        z.writestr('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr('xl/workbook.xml', f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                   '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr('xl/_rels/workbook.xml.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        z.writestr('xl/worksheets/sheet1.xml', f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>{cells}</sheetData></worksheet>')
        z.writestr('xl/sharedStrings.xml', f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{ns}" count="{len(strings)}" uniqueCount="{len(strings)}">'
                   + ''.join(f'<si><t>{escape(s)}</t></si>' for s in strings) + '</sst>')
expected = {}
for split, files in plan.items():
    lv = {'train': 'Train', 'valid': 'Val', 'test': 'Test'}[split]
    for d in (f'{T}/lvit/{lv}_Folder/img', f'{T}/lvit/{lv}_Folder/labelcol', f'{T}/gd/{split}/Images', f'{T}/gd/{split}/GTs', f'{T}/gd/prompt'):
        os.makedirs(d, exist_ok=True)
    for n in files:
        shutil.copy(f'{S}/qata/train/images/{n}', f'{T}/lvit/{lv}_Folder/img/{n}')
        shutil.copy(f'{S}/qata/train/masks/mask_{n}', f'{T}/lvit/{lv}_Folder/labelcol/mask_{n}')
        shutil.copy(f'{S}/qata/train/images/{n}', f'{T}/gd/{split}/Images/{n}')
        shutil.copy(f'{S}/qata/train/masks/mask_{n}', f'{T}/gd/{split}/GTs/mask_{n}')
        expected[n] = {'split': split, 'caption': caption[n]}
    # LViT workbooks list the whole dataset in every split: one row without an image here
    xlsx(f'{T}/lvit/{lv}_Folder/{lv}_text.xlsx', [(n, caption[n]) for n in files] + [('not_here.png', 'left lung.')])
    with open(f'{T}/gd/prompt/{split}.csv', 'w') as f:
        f.write('Image,Description\n' + ''.join(f'{n},"{caption[n]}"\n' for n in files))
json.dump(expected, sys.stdout)
EOF

verify() { # verify NAME (lvit | gd)
    $PY - "$T/$1.h5" "$T/$1.json" "$T/expected.json" "$2" <<'EOF'
import json, os, re, subprocess, sys
h5, summary, expected, layout = sys.argv[1:5]
exp = json.load(open(expected))
def text(ds, flags=()):
    out = subprocess.run(['h5dump', '-y', '-w', '0', *flags, '-d', ds, h5], capture_output=True, text=True, check=True).stdout
    return out.split('DATA {', 1)[1]
files = [os.path.basename(f) for f in re.findall(r'"([^"]*)"', text('/samples/file'))]
raw, src = re.findall(r'"([^"]*)"', text('/text/raw')), re.findall(r'"([^"]*)"', text('/text/source'))
split = re.findall(r'(NONE|TRAIN|VALID|TEST)', text('/split'), re.I)
has = [int(v) for v in re.findall(r'\d+', text('/has_mask').split('}')[0])]
assert sorted(files) == sorted(exp), files
for f, r, s, sp, m in zip(files, raw, src, split, has):
    assert sp.lower() == exp[f]['split'], (f, sp)
    assert r == exp[f]['caption'], (f, r)
    want = {'train': 'Train', 'valid': 'Val', 'test': 'Test'}[sp.lower()] + '_text.xlsx:' if layout == 'lvit' else sp.lower() + '.csv:'
    assert s.startswith(want), (f, s, want)
    assert m == 1, f
counts = json.load(open(summary))['samples_per_split']
assert counts == {'none': 0, 'train': 3, 'valid': 2, 'test': 2}, counts
print(h5, counts, 'captions ok')
EOF
}

"$BIN" ingest "$T/lvit" -o "$T/lvit.h5" --preset small -q >"$T/lvit.json" 2>"$T/lvit.err"
check "LViT: exit 0 (workbooks are not bad files)" $?
verify lvit lvit ; check "LViT: splits, masks, captions from SPLIT_text.xlsx" $?
grep -q 'Train_text.xlsx:train: 1 of 4 rows name no ingested image' "$T/lvit.err" ; check "LViT: the row without an image is counted" $?
h5dump -d /text/source "$T/lvit.h5" | grep -q '"Train_text.xlsx:train"' ; check "LViT: text source names the workbook" $?

"$BIN" ingest "$T/gd" -o "$T/gd.h5" --preset small -q >"$T/gd.json" 2>"$T/gd.err"
check "GuideDecoder: exit 0" $?
verify gd gd ; check "GuideDecoder: splits, masks, captions from prompt/SPLIT.csv" $?
h5dump -d /text/source "$T/gd.h5" | grep -q '"test.csv:test"' ; check "GuideDecoder: text source names the csv" $?

tl_end
