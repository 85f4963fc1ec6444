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
}

// Schema is the business config a Type accepts. Unknown keys are warnings:
// a typo must not pass silently, but an app written for a newer runtime
// must still load.
type Schema struct {
	Fields []Field
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
	var probs Problems
	for _, f := range s.Fields {
		v, ok := cfg[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required {
				probs = append(probs, Errorf(file, f.Name, "required"))
			}
			continue
		}
		if msg := f.check(v); msg != "" {
			probs = append(probs, Errorf(file, f.Name, "%s", msg))
		}
	}
	for _, k := range sortedKeys(cfg) {
		if _, ok := s.Field(k); !ok {
			probs = append(probs, Warnf(file, k, "unknown key (ignored)"))
		}
	}
	return probs
}

func (f Field) check(v any) string {
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
