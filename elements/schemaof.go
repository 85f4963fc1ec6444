package elements

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Checker is implemented by the Go type of a config field to check what
// tags cannot express (a URL, a range). v is the field's JSON value, of
// the field's kind already; the error's message is shown after the field
// path. It is called on the type's zero value.
type Checker interface {
	CheckConfig(v any) error
}

// SchemaOf derives a Type's Schema from its config struct, so that one Go
// struct is the single description of the config: the keys, their rules,
// their defaults, and the value the config decodes into. Each exported
// field is one key; an embedded struct without a json tag adds its
// fields, as in encoding/json. Tags:
//
//	json:"appId"        the key (as encoding/json reads it; "-" skips the field)
//	required:"true"     an instance must set it
//	enum:"a,b"          a string must be one of these
//	pattern:"^wx…$"     a string must match this regular expression...
//	hint:"…"            ...and this says how, in "must be <hint>"
//	secret:"true"       never quoted in messages, never shown by tools
//	default:"…"         the value when the key is absent, null or "": a
//	                    string as it is, a number, true or false, a
//	                    comma-separated list for []string, JSON for an object
//
// The kind follows the Go type: string, bool, numbers, []string, and
// structs or maps as objects (checked at the top level only); a pointer
// is its element. A field whose type implements Checker gets its check.
// Defaults must pass their own field's rules.
func SchemaOf(config any) (Schema, error) {
	t := reflect.TypeOf(config)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return Schema{}, fmt.Errorf("elements: SchemaOf(%T): not a struct", config)
	}
	var s Schema
	if err := addFields(&s, t); err != nil {
		return Schema{}, fmt.Errorf("elements: SchemaOf(%s): %w", t, err)
	}
	return s, nil
}

// MustSchemaOf is SchemaOf for T; it panics on a malformed tag, which is a
// programming error, so that registering a Type fails at once.
func MustSchemaOf[T any]() Schema {
	var zero T
	s, err := SchemaOf(&zero)
	if err != nil {
		panic(err)
	}
	return s
}

func addFields(s *Schema, t reflect.Type) error {
	for sf := range t.Fields() {
		tag, hasTag := sf.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && (!hasTag || name == "") && ft.Kind() == reflect.Struct {
			if err := addFields(s, ft); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f, err := fieldOf(name, sf, ft)
		if err != nil {
			return fmt.Errorf("field %s (%q): %w", sf.Name, name, err)
		}
		if _, dup := s.Field(name); dup {
			return fmt.Errorf("field %s: key %q twice", sf.Name, name)
		}
		s.Fields = append(s.Fields, f)
	}
	return nil
}

func fieldOf(name string, sf reflect.StructField, ft reflect.Type) (Field, error) {
	f := Field{Name: name, Hint: sf.Tag.Get("hint")}
	switch ft.Kind() {
	case reflect.String:
		f.Kind = String
	case reflect.Bool:
		f.Kind = Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		f.Kind = Number
	case reflect.Slice:
		if ft.Elem().Kind() != reflect.String {
			return f, fmt.Errorf("a slice of %s: only []string is a config kind", ft.Elem())
		}
		f.Kind = StringArray
	case reflect.Struct, reflect.Map:
		f.Kind = Object
	default:
		return f, fmt.Errorf("type %s is not a config kind", sf.Type)
	}
	var err error
	if f.Required, err = boolTag(sf, "required"); err != nil {
		return f, err
	}
	if f.Secret, err = boolTag(sf, "secret"); err != nil {
		return f, err
	}
	if e := sf.Tag.Get("enum"); e != "" {
		if f.Kind != String {
			return f, fmt.Errorf("enum on a %s", f.Kind)
		}
		f.Enum = strings.Split(e, ",")
	}
	if p := sf.Tag.Get("pattern"); p != "" {
		if f.Kind != String {
			return f, fmt.Errorf("pattern on a %s", f.Kind)
		}
		if f.Pattern, err = regexp.Compile(p); err != nil {
			return f, err
		}
		if f.Hint == "" {
			return f, fmt.Errorf("pattern without a hint")
		}
	}
	if c, ok := reflect.Zero(sf.Type).Interface().(Checker); ok {
		f.Check = c.CheckConfig
	} else if c, ok := reflect.New(sf.Type).Interface().(Checker); ok {
		f.Check = c.CheckConfig
	}
	if d, ok := sf.Tag.Lookup("default"); ok {
		if f.Required {
			return f, fmt.Errorf("required with a default")
		}
		if f.Default, err = parseDefault(f.Kind, d); err != nil {
			return f, fmt.Errorf("default %q: %w", d, err)
		}
		if msg := f.check(f.Default, ""); msg != "" {
			return f, fmt.Errorf("default %q: %s", d, msg)
		}
	}
	return f, nil
}

func boolTag(sf reflect.StructField, key string) (bool, error) {
	v, ok := sf.Tag.Lookup(key)
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s:%q: not true or false", key, v)
	}
	return b, nil
}

// parseDefault turns a default tag into the JSON value a config holds.
func parseDefault(k ValueKind, d string) (any, error) {
	switch k {
	case String:
		return d, nil
	case Bool:
		return strconv.ParseBool(d)
	case Number:
		return strconv.ParseFloat(d, 64)
	case StringArray:
		out := []any{}
		for s := range strings.SplitSeq(d, ",") {
			out = append(out, strings.TrimSpace(s))
		}
		return out, nil
	}
	var v any
	err := json.Unmarshal([]byte(d), &v)
	return v, err
}
