package runtime

import (
	"sort"

	"github.com/jitwx/jit/elements"
)

// Entry is one element as the live registry holds it. Entries are
// immutable once published.
type Entry struct {
	FullName  string
	Title     string
	Type      string        // declared type
	Kind      elements.Kind // meta, type, instance or inert
	Layer     string        // the layer whose definition won
	Rewrites  []string      // lower layers whose definition of the same name this one replaces
	TypeChain []string      // declared type first, up to the Meta
	Impl      string        // the registered Go Type giving the behaviour, if any
	Parent    string        // for sub-elements: the instance that owns them
	Def       *elements.Definition
	// Object is what GetElement returns: the built element for instances,
	// the sub-element for children, the definition for the rest.
	Object any
}

// Snapshot is an immutable view of the registry. Lookups read two plain
// maps without locks: a large base that is rebuilt rarely and a small
// overlay of recent changes (a nil entry in the overlay is a removal), so a
// reload costs what changed, not the size of the app.
type Snapshot struct {
	base     map[string]*Entry
	overlay  map[string]*Entry
	problems elements.Problems
	broken   map[string]*Broken
	missing  []string
	gen      uint64
}

// MissingFolders lists the on-disk layer folders that have vanished while
// the app runs (a deploy replacing the folder): their last good elements
// still serve, but the app is not what the disk says until they are back.
func (s *Snapshot) MissingFolders() []string { return s.missing }

// Broken is an element that exists on disk but has nothing live: it has
// errors and never had a good version (or lost it with a reload that
// removed what it was built from). An element that still serves its last
// good version is not Broken: it is in Get, and its errors are in Problems.
type Broken struct {
	FullName string
	Title    string            // from its definition, when one could be read
	Type     string            // declared type, ditto
	Problems elements.Problems // its errors, the first being the one to show
}

// Broken returns the broken element of a full name.
func (s *Snapshot) Broken(name string) (*Broken, bool) {
	b, ok := s.broken[name]
	return b, ok
}

// BrokenElements lists the broken elements, sorted by full name.
func (s *Snapshot) BrokenElements() []*Broken {
	out := make([]*Broken, 0, len(s.broken))
	for _, b := range s.broken {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out
}

// Get returns the entry of a full name.
func (s *Snapshot) Get(name string) (*Entry, bool) {
	if len(s.overlay) != 0 {
		if e, ok := s.overlay[name]; ok {
			return e, e != nil
		}
	}
	e, ok := s.base[name]
	return e, ok
}

// Generation counts published snapshots; it grows by one per reload.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Problems are the findings of the load that built this snapshot and of
// every reload since, for elements as they are on disk now.
func (s *Snapshot) Problems() elements.Problems { return s.problems }

// Entries lists every element, sorted by full name.
func (s *Snapshot) Entries() []*Entry {
	out := make([]*Entry, 0, len(s.base)+len(s.overlay))
	for name, e := range s.base {
		if _, shadowed := s.overlay[name]; !shadowed {
			out = append(out, e)
		}
	}
	for _, e := range s.overlay {
		if e != nil {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out
}

// Len is the number of elements.
func (s *Snapshot) Len() int {
	n := len(s.base)
	for name, e := range s.overlay {
		_, inBase := s.base[name]
		switch {
		case e == nil && inBase:
			n--
		case e != nil && !inBase:
			n++
		}
	}
	return n
}

// Suggest returns up to max full names closest to name, for "not found"
// errors. It scans every name, so it belongs on error paths only.
func (s *Snapshot) Suggest(name string, max int) []string {
	type cand struct {
		name string
		dist int
	}
	limit := len(name)/3 + 2
	var cands []cand
	for _, e := range s.Entries() {
		if d := distance(name, e.FullName, limit); d <= limit {
			cands = append(cands, cand{e.FullName, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var out []string
	for i := 0; i < len(cands) && i < max; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// distance is the Levenshtein distance of a and b, giving up (returning
// limit+1) once it cannot be within limit.
func distance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
