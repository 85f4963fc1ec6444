package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/jitwx/jit/elements"
)

// maxFolderDepth bounds folder nesting in layers that are not on disk,
// where symlinked folders cannot be resolved to real paths.
const maxFolderDepth = 64

// maxFolders bounds how many folders one scan walks, so links that fan out
// (many links to folders that link on) cannot keep it busy without end.
const maxFolders = 100_000

// scanned is one element folder as the discover stage read it: def is nil
// when the folder is broken, and probs say why.
type scanned struct {
	dir   string
	def   *elements.Definition
	probs elements.Problems
}

// scanner walks one layer. On disk, symlinked folders are followed (that
// is what Kubernetes ConfigMap volumes are made of) but every folder is
// identified by its real path: a link back to a folder on the way from the
// layer root is a loop, reported once and not followed, and a link to a
// folder of the layer that is read under its own name is not read twice.
// Both rules depend only on the link and its ancestors, so a rescan of
// any folder sees what a full scan sees.
type scanner struct {
	fsys    fs.FS
	layer   string
	rules   folderRules
	rootDir string            // the layer's real folder on disk, "" when not on disk
	onPath  map[string]string // real folder → layer-relative folder, from the root to the current one
	folders int
	out     []scanned
}

// scanTree reads every element folder at or below dir. A missing dir yields
// nothing: that is how a removed folder is noticed; so does a dir the rules
// skip, or one inside such a folder.
func scanTree(l Layer, rules folderRules, dir string, out []scanned) []scanned {
	s := &scanner{fsys: l.FS, layer: l.Name, rules: rules, onPath: map[string]string{}, out: out}
	if dir != "" && s.skipsPath(dir) {
		return s.out
	}
	real := ""
	if l.Dir != "" {
		if r, err := filepath.EvalSymlinks(l.Dir); err == nil {
			s.rootDir = r
		}
	}
	if s.rootDir != "" {
		// A rescan starts below the root: its ancestors are on the path too,
		// so a loop is seen the same way a full scan sees it.
		real = s.rootDir
		prefix := ""
		for _, seg := range strings.Split(dir, "/") {
			if seg == "" {
				break
			}
			s.onPath[real] = prefix
			prefix = path.Join(prefix, seg)
			r, err := filepath.EvalSymlinks(filepath.Join(real, seg))
			if err != nil {
				return s.out // removed: nothing to read
			}
			real = r
		}
	}
	s.walk(dir, real)
	return s.out
}

func (s *scanner) walk(dir, real string) {
	name := dir
	if name == "" {
		name = "."
	}
	entries, err := fs.ReadDir(s.fsys, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && dir != "" {
			s.fail(dir, elements.Errorf(elements.DisplayPath(s.layer, dir), "", "cannot read folder: %v", err))
		}
		return
	}
	if real != "" {
		s.onPath[real] = dir
		defer delete(s.onPath, real)
	}
	isElement := false
	for _, e := range entries {
		if e.Name() == elements.ElementFile {
			// As every other check asks it: an e.json that is a file, or
			// a link to one (a dangling link is not).
			isElement = isElementDir(s.fsys, dir)
			break
		}
	}
	if isElement && dir != "" {
		if p := elements.CheckFolderPath(s.layer, dir); p != nil {
			// A dot would make another full name: such a folder is not an
			// element (its e.json is not read), but it is reported.
			s.fail(dir, p)
		} else {
			def, probs := elements.ReadDefinition(s.fsys, s.layer, dir)
			s.out = append(s.out, scanned{dir: dir, def: def, probs: probs})
		}
	}
	for _, e := range entries {
		n := e.Name()
		child := path.Join(dir, n)
		if s.rules.skips(child, isElement) || !isDir(s.fsys, path.Join(name, n), e) {
			continue
		}
		if s.folders++; s.folders > maxFolders {
			if s.folders == maxFolders+1 {
				s.fail(child, elements.Errorf(elements.DisplayPath(s.layer, child), "",
					"more than %d folders; not read further", maxFolders))
			}
			return
		}
		if real == "" {
			if strings.Count(child, "/")+1 > maxFolderDepth {
				s.fail(child, elements.Errorf(elements.DisplayPath(s.layer, child), "",
					"folders nested deeper than %d levels (a symlink loop?); not read further", maxFolderDepth))
				continue
			}
			s.walk(child, "")
			continue
		}
		childReal := filepath.Join(real, n)
		if e.Type()&fs.ModeSymlink != 0 {
			r, err := filepath.EvalSymlinks(childReal)
			if err != nil {
				continue // dangling or removed meanwhile, as isDir would say
			}
			childReal = r
		}
		// Below a followed link a plain folder can be an ancestor or a
		// folder of the layer too: the same rules apply to it.
		if childReal != filepath.Join(s.rootDir, filepath.FromSlash(child)) {
			if p := s.linked(child, childReal); p != nil {
				s.fail(child, p)
				continue
			}
		}
		s.walk(child, childReal)
	}
}

// linked decides whether the symlinked folder child, whose real path is
// real, is walked: nil if so, else the problem that says why not.
func (s *scanner) linked(child, real string) *elements.Problem {
	file := elements.DisplayPath(s.layer, child)
	if prev, ok := s.onPath[real]; ok {
		return elements.Errorf(file, "", "symlink loop: leads back to %s; not followed", folderName(prev))
	}
	if rel, err := filepath.Rel(s.rootDir, real); err == nil && s.readAsItself(filepath.ToSlash(rel)) {
		return elements.Warnf(file, "", "links to %s, which is read under its own name; not read twice", folderName(filepath.ToSlash(rel)))
	}
	return nil
}

// readAsItself reports whether the layer-relative folder rel is one a scan
// reads under its own path (inside the layer, not skipped). Links into
// hidden folders, such as a ConfigMap's ..data, are followed.
func (s *scanner) readAsItself(rel string) bool {
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	return !s.skipsPath(rel)
}

// skipsPath reports whether the rules skip dir or one of its ancestors.
func (s *scanner) skipsPath(dir string) bool {
	return skipsPath(s.fsys, s.rules, dir)
}

func skipsPath(fsys fs.FS, rules folderRules, dir string) bool {
	parent := ""
	for _, seg := range strings.Split(dir, "/") {
		child := path.Join(parent, seg)
		if rules.skips(child, parent != "" && isElementDir(fsys, parent)) {
			return true
		}
		parent = child
	}
	return false
}

func folderName(dir string) string {
	if dir == "" {
		return "the layer's root folder"
	}
	return fmt.Sprintf("folder %s", dir)
}

func (s *scanner) fail(dir string, p *elements.Problem) {
	p.Element = elements.FullNameOf(dir)
	s.out = append(s.out, scanned{dir: dir, probs: elements.Problems{p}})
}

// isDir follows symlinks, which Kubernetes ConfigMap volumes are made of.
func isDir(fsys fs.FS, name string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir()
	}
	fi, err := fs.Stat(fsys, name)
	return err == nil && fi.IsDir()
}
