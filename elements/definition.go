package elements

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

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
		return fail(Errorf(efile, "", "not valid JSON"))
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
	if probs.HasErrors() {
		p := probs
		for _, x := range p {
			x.Element = d.FullName
		}
		return nil, p
	}

	cfgName, warn := configFileName(fsys, d)
	if warn != nil {
		probs = append(probs, warn)
	}
	if cfgName != "" {
		d.ConfigFile = path.Join(dir, cfgName)
		cfile := d.File(cfgName)
		raw, err := readLimited(fsys, d.ConfigFile)
		switch {
		case err != nil:
			probs = append(probs, Errorf(cfile, "", "%v", err))
		case !gjson.ValidBytes(raw):
			probs = append(probs, Errorf(cfile, "", "not valid JSON"))
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

// configFileName picks the business config: a frontBundleEntry that names a
// JSON file (JitAi exports do this), else <Name>.json, else config.json.
func configFileName(fsys fs.FS, d *Definition) (string, *Problem) {
	if entry := d.Field("frontBundleEntry").String(); strings.HasSuffix(entry, ".json") {
		name := path.Clean(strings.TrimPrefix(entry, "./"))
		if !strings.Contains(name, "/") && name != ElementFile && exists(fsys, path.Join(d.Dir, name)) {
			return name, nil
		}
	}
	own := d.Name() + ".json"
	hasOwn := exists(fsys, path.Join(d.Dir, own))
	hasGeneric := exists(fsys, path.Join(d.Dir, "config.json"))
	switch {
	case hasOwn && hasGeneric:
		return own, Warnf(d.File("config.json"), "", "ignored: %s is the business config", own)
	case hasOwn:
		return own, nil
	case hasGeneric:
		return "config.json", nil
	}
	return "", nil
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
