package elements

import (
	"fmt"
	"regexp"
	"strings"
)

// ValueKind is the JSON type a config field must have.
type ValueKind string

const (
	String      ValueKind = "string"
	Number      ValueKind = "number"
	Bool        ValueKind = "boolean"
	Object      ValueKind = "object"
	StringArray ValueKind = "array of strings"
)

// Field describes one business-config key of a Type.
type Field struct {
	Name     string
	Kind     ValueKind
	Required bool
	Enum     []string       // allowed values of a String field
	Pattern  *regexp.Regexp // a String field must match it...
	Hint     string         // ...and this says how, e.g. `"wx" followed by 16 hex digits`
	Secret   bool           // never shown by tools that print config
	// Check validates what the other rules cannot; its error message is shown
	// after the field path.
	Check func(v any) error
	// Default, when not nil, is the JSON value (string, float64, bool,
	// []any, map[string]any) an instance gets when it leaves the key
	// absent, null or "".
	Default any
}

// Schema is the business config a Type accepts. Unknown keys are warnings:
// a typo must not pass silently, but an app written for a newer runtime
// must still load.
type Schema struct {
	Fields []Field
	// Hints add advice to the unknown-key warning of particular keys, such
	// as a layout that belongs to another Type: "authConfig" → "…".
	Hints map[string]string
}

// PlatformKeys are keys JitAi itself writes into element and config files
// (an export's config may carry isActive, fullName, ...). They are known to
// every schema: not business config, and never an "unknown key" warning.
var PlatformKeys = []string{"isActive", "default", "allowRegister", "backendBundleEntry", "frontBundleEntry", "fullName"}

// WithHints returns s with hints for unknown keys; see Schema.Hints.
func (s Schema) WithHints(h map[string]string) Schema {
	s.Hints = h
	return s
}

// Defaults returns the fields' defaults as a fresh config object.
func (s Schema) Defaults() map[string]any {
	out := map[string]any{}
	s.FillDefaults(&out)
	return out
}

// FillDefaults gives every field that *cfg leaves absent, null or "" its
// default (a fresh copy), creating *cfg if it is nil. It reports whether
// it changed anything.
func (s Schema) FillDefaults(cfg *map[string]any) bool {
	changed := false
	for _, f := range s.Fields {
		if f.Default == nil {
			continue
		}
		if v, ok := (*cfg)[f.Name]; ok && v != nil && v != "" {
			continue
		}
		if *cfg == nil {
			*cfg = map[string]any{}
		}
		(*cfg)[f.Name] = copyJSON(f.Default)
		changed = true
	}
	return changed
}

func (s Schema) hasDefaults() bool {
	for _, f := range s.Fields {
		if f.Default != nil {
			return true
		}
	}
	return false
}

// copyJSON deep-copies a JSON value, so no config shares a default's
// arrays or objects.
func copyJSON(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyJSON(e)
		}
		return out
	}
	return v
}

// Field returns the named field.
func (s Schema) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Validate checks a merged config. file is where the instance's own config
// lives, the file a user will edit to fix the problem.
func (s Schema) Validate(cfg map[string]any, file string) Problems {
	return s.ValidateEnv(cfg, file, nil)
}

// ValidateEnv is Validate for a config that ExpandEnvFields expanded: a
// value that came from an environment variable is never quoted, whatever
// key it sits in; messages say "the value of {{VAR}}" instead.
func (s Schema) ValidateEnv(cfg map[string]any, file string, env EnvFields) Problems {
	var probs Problems
	for _, f := range s.Fields {
		v, ok := cfg[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required {
				probs = append(probs, Errorf(file, f.Name, "required"))
			}
			continue
		}
		if msg := f.check(v, env.describe(f.Name)); msg != "" {
			probs = append(probs, Errorf(file, f.Name, "%s", env.Redact(msg)))
		}
	}
	for _, k := range sortedKeys(cfg) {
		if _, ok := s.Field(k); ok || contains(PlatformKeys, k) {
			continue
		}
		msg := "unknown key (ignored)"
		if sug := s.suggest(k); sug != "" {
			msg = fmt.Sprintf("unknown key (ignored; did you mean %s?)", sug)
		}
		if h := s.Hints[k]; h != "" {
			msg += ": " + h
		}
		probs = append(probs, Warnf(file, k, "%s", msg))
	}
	return probs
}

// suggest finds the field an unknown key was probably meant to be: the
// same name in another case, else one within a small edit distance.
func (s Schema) suggest(key string) string {
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, key) {
			return f.Name
		}
	}
	best, bestDist := "", 3
	if len(key) <= 4 {
		bestDist = 2
	}
	for _, f := range s.Fields {
		if d := editDistance(strings.ToLower(key), strings.ToLower(f.Name)); d < bestDist {
			best, bestDist = f.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// check returns what is wrong with v, or "". from, when not empty, says
// where v came from ("the value of {{VAR}}"): v is then never quoted.
func (f Field) check(v any, from string) string {
	switch f.Kind {
	case String:
		s, ok := v.(string)
		if !ok {
			return "must be a string"
		}
		if len(f.Enum) > 0 && !contains(f.Enum, s) {
			return "must be one of " + quoteList(f.Enum)
		}
		if f.Pattern != nil && !f.Pattern.MatchString(s) {
			if f.Secret {
				return "must be " + f.Hint
			}
			if from != "" {
				return fmt.Sprintf("must be %s, not %s", f.Hint, from)
			}
			return fmt.Sprintf("must be %s, not %q", f.Hint, s)
		}
	case Number:
		if _, ok := v.(float64); !ok {
			return "must be a number"
		}
	case Bool:
		if _, ok := v.(bool); !ok {
			return "must be true or false"
		}
	case Object:
		if _, ok := v.(map[string]any); !ok {
			return "must be an object"
		}
	case StringArray:
		arr, ok := v.([]any)
		if !ok {
			return "must be an array of strings"
		}
		for i, x := range arr {
			if _, ok := x.(string); !ok {
				return fmt.Sprintf("[%d] must be a string", i)
			}
		}
	}
	if f.Check != nil {
		if err := f.Check(v); err != nil {
			return err.Error()
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
