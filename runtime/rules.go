package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/jitwx/jit/elements"
)

// skippedFolders never hold elements, at any depth: packages, builds, app
// data, shared code, tests and caches that JitAi exports and front-end
// tooling keep beside the elements.
var skippedFolders = map[string]bool{
	"node_modules": true, "dist": true, "appData": true, "commons": true, "test": true, "__pycache__": true,
}

// folderRules decide which folders of a layer are read and watched. The
// scanner and the watcher ask the same question, so a reload sees exactly
// what a fresh load sees.
type folderRules struct {
	ignore []string // app.json "ignore": folder names or slash-separated path globs
}

// skips reports whether the folder dir (layer-relative, not the root) is
// neither read nor watched. inElement says whether its parent folder is an
// element, whose code folders hold no elements.
func (r folderRules) skips(dir string, inElement bool) bool {
	name := path.Base(dir)
	if strings.HasPrefix(name, ".") || skippedFolders[name] || dir == "public" || (inElement && elements.IsCodeDir(name)) {
		return true
	}
	for _, pat := range r.ignore {
		target := name
		if strings.Contains(pat, "/") {
			target = dir
		}
		if ok, _ := path.Match(pat, target); ok {
			return true
		}
	}
	return false
}

// maxIgnore bounds the ignore list: every pattern is tried on every folder.
const maxIgnore = 1000

// readRules reads a layer's "ignore" list from its app.json. ok is false
// when app.json exists but cannot be read or parsed: that is reported
// where its extends are read, and the rules in force stay.
func readRules(l Layer) (_ folderRules, _ elements.Problems, ok bool) {
	raw, err := elements.ReadFile(l.FS, AppFile)
	if errors.Is(err, fs.ErrNotExist) {
		return folderRules{}, nil, true
	}
	if err != nil {
		return folderRules{}, nil, false
	}
	if raw, err = elements.CheckJSON(raw); err != nil || !gjson.ValidBytes(raw) {
		return folderRules{}, nil, false
	}
	v := gjson.GetBytes(raw, "ignore")
	if !v.Exists() {
		return folderRules{}, nil, true
	}
	file := elements.DisplayPath(l.Name, AppFile)
	if !v.IsArray() {
		return folderRules{}, elements.Problems{elements.Errorf(file, "ignore", "must be a list of folder names or globs")}, true
	}
	items := v.Array()
	if len(items) > maxIgnore {
		return folderRules{}, elements.Problems{elements.Errorf(file, "ignore", "%d entries; at most %d", len(items), maxIgnore)}, true
	}
	var r folderRules
	var probs elements.Problems
	seen := map[string]bool{}
	for i, item := range items {
		field := fmt.Sprintf("ignore[%d]", i)
		pat := strings.Trim(item.String(), "/")
		if item.Type != gjson.String || pat == "" {
			probs = append(probs, elements.Errorf(file, field, "must be a folder name or a glob such as \"drafts\" or \"pages/old*\""))
			continue
		}
		if _, err := path.Match(pat, ""); errors.Is(err, path.ErrBadPattern) {
			probs = append(probs, elements.Errorf(file, field, "%q is not a valid glob", pat))
			continue
		}
		if !seen[pat] {
			seen[pat] = true
			r.ignore = append(r.ignore, pat)
		}
	}
	return r, probs, true
}

// isElementDir reports whether a layer folder holds an e.json.
func isElementDir(fsys fs.FS, dir string) bool {
	name := elements.ElementFile
	if dir != "" {
		name = dir + "/" + name
	}
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}
