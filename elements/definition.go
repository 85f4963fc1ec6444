package elements

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// ElementFile is the file that makes a folder an element.
const ElementFile = "e.json"

// maxFileSize bounds what one element file may hold, so a stray binary or a
// runaway generator cannot make the loader allocate without limit.
const maxFileSize = 4 << 20

// Definition is one element folder as one layer declares it.
type Definition struct {
	FullName   string // folder path relative to the app root, "/" → "."
	Dir        string // slash-separated folder path inside the layer
	Layer      string // the layer's display name: "app", a parent's folder, "builtin"
	Title      string
	Type       string // declared type; empty for a Meta
	EJSON      []byte // the whole e.json, so fields this runtime does not model are kept
	ConfigFile string // layer-relative path of the business config, empty when none
	Config     []byte // the business config as read, nil when none
}

// GoPackageField is the e.json key of a Type implemented in Go that names
// the package registering it, for the "forgotten import?" message.
const GoPackageField = "goPackage"

// Name is the last segment of the full name, which also names the config file.
func (d *Definition) Name() string {
	return path.Base(d.Dir)
}

// Field returns any e.json field, including the ones this runtime does not model
// (backendBundleEntry, variables, icon, ...).
func (d *Definition) Field(name string) gjson.Result {
	return gjson.GetBytes(d.EJSON, name)
}

// DisplayPath names a layer file the way problems show it.
func DisplayPath(layer, rel string) string {
	if layer == "" || layer == "app" {
		return rel
	}
	if layer == "builtin" {
		return "builtin:" + rel
	}
	return path.Join(layer, rel)
}

// File returns the display path of a file in this element's folder.
func (d *Definition) File(name string) string {
	return DisplayPath(d.Layer, path.Join(d.Dir, name))
}

// FullNameOf turns a layer-relative folder path into an element's full name.
func FullNameOf(dir string) string {
	return strings.ReplaceAll(dir, "/", ".")
}

// NameSegmentProblem says why a folder name cannot be a segment of a full
// name, or returns "" when it can. Full names join folder names with ".",
// so a dot would make another name; JitAi names are identifiers, so
// spaces and a leading punctuation mark are refused too.
func NameSegmentProblem(name string) string {
	if name == "" {
		return "it is empty"
	}
	if strings.Contains(name, ".") {
		return "it contains a dot, which separates the segments of a full name"
	}
	for _, r := range name {
		if unicode.IsSpace(r) {
			return "it contains a space"
		}
		if unicode.IsControl(r) {
			return "it contains a control character"
		}
	}
	if r, _ := utf8.DecodeRuneInString(name); !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
		return "it must start with a letter, a digit or _"
	}
	return ""
}

// CheckFolderPath checks every segment of a layer-relative element folder
// path; the problem names the first folder that cannot be part of a full
// name, and why.
func CheckFolderPath(layer, dir string) *Problem {
	prefix := ""
	for _, seg := range strings.Split(dir, "/") {
		prefix = path.Join(prefix, seg)
		if why := NameSegmentProblem(seg); why != "" {
			what := "this element's folder"
			if prefix != dir {
				what = fmt.Sprintf("folder %s", DisplayPath(layer, prefix))
			}
			return Errorf(DisplayPath(layer, dir), "", "folder name %q cannot be part of a full name (%s): %s; rename %s", seg, FullNameOf(dir), why, what)
		}
	}
	return nil
}

// CodeDirs are subfolders of an element that hold its code, never elements.
var codeDirs = map[string]bool{"frontend": true, "backend": true}

// IsCodeDir reports whether a subfolder of an element holds code, not elements.
func IsCodeDir(name string) bool { return codeDirs[name] }

// ReadDefinition reads the element folder dir of fsys. It returns nil and
// the problems when the folder cannot be used at all (unreadable or invalid
// e.json), and a definition plus warnings otherwise. The config is only
// checked to be a JSON object here; merging and schema checks come later,
// once the Type chain is known.
func ReadDefinition(fsys fs.FS, layer, dir string) (*Definition, Problems) {
	d := &Definition{FullName: FullNameOf(dir), Dir: dir, Layer: layer}
	var probs Problems
	efile := d.File(ElementFile)
	raw, err := readLimited(fsys, path.Join(dir, ElementFile))
	fail := func(p *Problem) (*Definition, Problems) {
		p.Element = d.FullName
		return nil, Problems{p}
	}
	if err != nil {
		return fail(Errorf(efile, "", "%v", err))
	}
	if !gjson.ValidBytes(raw) {
		return fail(Errorf(efile, "", "%s", invalidJSON(raw)))
	}
	doc := gjson.ParseBytes(raw)
	if !doc.IsObject() {
		return fail(Errorf(efile, "", "must be a JSON object"))
	}
	d.EJSON = raw
	if t := doc.Get("title"); t.Exists() && t.Type != gjson.String {
		probs = append(probs, Errorf(efile, "title", "must be a string"))
	} else {
		d.Title = t.String()
	}
	if t := doc.Get("type"); t.Exists() && t.Type != gjson.Null {
		if t.Type != gjson.String {
			probs = append(probs, Errorf(efile, "type", "must be a string naming a Meta or a Type"))
		} else {
			d.Type = strings.TrimSpace(t.String())
		}
	}
	if fn := doc.Get("fullName"); fn.Exists() && fn.Type != gjson.Null {
		switch {
		case fn.Type != gjson.String:
			probs = append(probs, Warnf(efile, "fullName", "must be a string (ignored: the folder path %s gives the full name %s)", dir, d.FullName))
		case strings.TrimSpace(fn.String()) != d.FullName:
			probs = append(probs, Warnf(efile, "fullName", "%q does not match the folder path %s (full name %s); the folder path wins", fn.String(), dir, d.FullName))
		}
	}
	entry, p := frontBundleEntry(doc, efile)
	if p != nil {
		probs = append(probs, p)
	}
	if probs.HasErrors() {
		p := probs
		for _, x := range p {
			x.Element = d.FullName
		}
		return nil, p
	}

	cfgName, warns := configFileName(fsys, d, entry)
	probs = append(probs, warns...)
	if cfgName != "" {
		d.ConfigFile = path.Join(dir, cfgName)
		cfile := d.File(cfgName)
		raw, err := readLimited(fsys, d.ConfigFile)
		switch {
		case err != nil:
			probs = append(probs, Errorf(cfile, "", "%v", err))
		case !gjson.ValidBytes(raw):
			probs = append(probs, Errorf(cfile, "", "%s", invalidJSON(raw)))
		case !gjson.ParseBytes(raw).IsObject():
			probs = append(probs, Errorf(cfile, "", "must be a JSON object"))
		default:
			d.Config = raw
		}
	}
	for _, p := range probs {
		p.Element = d.FullName
	}
	if probs.HasErrors() {
		return nil, probs
	}
	return d, probs
}

// frontBundleEntry returns e.json's frontBundleEntry as a path inside the
// element's folder ("./Default.json" → "Default.json"), "" when there is
// none. An entry that is not a string or that leaves the folder is an
// error: nothing outside the element's folder belongs to it.
func frontBundleEntry(doc gjson.Result, efile string) (string, *Problem) {
	v := doc.Get("frontBundleEntry")
	if !v.Exists() || v.Type == gjson.Null {
		return "", nil
	}
	if v.Type != gjson.String {
		return "", Errorf(efile, "frontBundleEntry", `must be a string, a file of the element's folder such as "./index.ts"`)
	}
	raw := v.String()
	name := path.Clean(strings.ReplaceAll(raw, `\`, "/"))
	if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
		return "", Errorf(efile, "frontBundleEntry", "%q points outside the element's folder", raw)
	}
	return name, nil
}

// configFileName picks the business config: the JSON file frontBundleEntry
// names (JitAi exports do this), else <Name>.json, else config.json. When
// there is none, each other JSON file of the folder (a config copied from
// another element, say) is warned about: it is not read.
func configFileName(fsys fs.FS, d *Definition, entry string) (string, Problems) {
	if strings.HasSuffix(entry, ".json") && !strings.Contains(entry, "/") && entry != ElementFile && exists(fsys, path.Join(d.Dir, entry)) {
		return entry, nil
	}
	own := d.Name() + ".json"
	hasOwn := exists(fsys, path.Join(d.Dir, own))
	hasGeneric := exists(fsys, path.Join(d.Dir, "config.json"))
	switch {
	case hasOwn && hasGeneric:
		return own, Problems{Warnf(d.File("config.json"), "", "ignored: %s is the business config", own)}
	case hasOwn:
		return own, nil
	case hasGeneric:
		return "config.json", nil
	}
	return "", strayConfigs(fsys, d, entry)
}

// strayConfigs warns about the JSON files of an element folder that has no
// business config: a person who copied MyWechatLogin.json into ThirdLogin/
// expects it read, and would otherwise only hear that ThirdLogin.json
// lacks a required key. A Meta (no type) has no business config.
func strayConfigs(fsys fs.FS, d *Definition, entry string) Problems {
	if d.Type == "" {
		return nil
	}
	entries, err := fs.ReadDir(fsys, d.Dir)
	if err != nil {
		return nil
	}
	own := d.Name() + ".json"
	var probs Problems
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".json") || strings.HasPrefix(n, ".") || n == ElementFile || n == entry || !exists(fsys, path.Join(d.Dir, n)) {
			continue
		}
		probs = append(probs, Warnf(d.File(n), "", "not read: the business config file of this element is %s (rename %s to %s?)", own, n, own))
	}
	return probs
}

func exists(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}

// readLimited reads a JSON file of an element: see ReadFile and CheckJSON.
func readLimited(fsys fs.FS, name string) ([]byte, error) {
	raw, err := ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return CheckJSON(raw)
}
