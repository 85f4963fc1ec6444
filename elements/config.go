package elements

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Config is an instance's merged, expanded and validated business config.
// It is immutable once built.
type Config struct {
	raw []byte
}

// NewConfig wraps a JSON object.
func NewConfig(raw []byte) Config { return Config{raw: raw} }

// Get reads a value by gjson path.
func (c Config) Get(path string) gjson.Result { return gjson.GetBytes(c.raw, path) }

// JSON returns the merged config. It may hold secrets: never print it.
func (c Config) JSON() []byte { return c.raw }

// Decode unmarshals the config into v (a Type's element struct).
func (c Config) Decode(v any) error {
	if len(c.raw) == 0 {
		return nil
	}
	return json.Unmarshal(c.raw, v)
}

// ConfigSource is one config in a merge, lowest precedence first.
type ConfigSource struct {
	File string // display path, for error messages
	JSON []byte // a JSON object; nil means the layer has no config
}

// Merge deep-merges JSON objects, later sources over earlier ones (instance
// over Type over parent Type). Objects merge key by key; any other value,
// arrays included, replaces what was below it, so an instance can shorten a
// list of defaults.
func Merge(sources ...ConfigSource) (map[string]any, error) {
	out := map[string]any{}
	for _, l := range sources {
		if len(l.JSON) == 0 {
			continue
		}
		v, ok := gjson.ParseBytes(l.JSON).Value().(map[string]any)
		if !ok {
			return nil, Errorf(l.File, "", "must be a JSON object")
		}
		if p := checkFinite(v, "", l.File); p != nil {
			return nil, p
		}
		mergeInto(out, v)
	}
	return out, nil
}

// checkFinite rejects numbers too large for a float64 (1e400), which would
// otherwise become ±Inf and make the merged config unencodable.
func checkFinite(v any, field, file string) *Problem {
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) {
			return Errorf(file, field, "number out of range")
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if p := checkFinite(x[k], joinField(field, k), file); p != nil {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := checkFinite(e, fmt.Sprintf("%s[%d]", field, i), file); p != nil {
				return p
			}
		}
	}
	return nil
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeInto(dv, sv)
				continue
			}
			cp := map[string]any{}
			mergeInto(cp, sv)
			dst[k] = cp
			continue
		}
		dst[k] = v
	}
}

// Bounds on {{VAR}} expansion; see ExpandEnv.
const (
	MaxExpandedString = 64 << 10
	MaxExpandedTotal  = 4 << 20
)

var envRef = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// ExpandEnv replaces {{VAR}} in every string value, so secrets stay out of
// files. A missing variable is an error naming the field and the variable;
// the value itself is never echoed.
//
// A string that uses a variable may hold at most MaxExpandedString bytes once
// expanded, and all expanded strings of one config at most MaxExpandedTotal,
// so a large variable used many times cannot exhaust memory.
func ExpandEnv(cfg map[string]any, lookup func(string) (string, bool), file string) Problems {
	_, probs := ExpandEnvFields(cfg, lookup, file)
	return probs
}

// ExpandEnvFields is ExpandEnv that also returns which fields it filled
// from variables, for ValidateEnv and EnvFields.Redact.
func ExpandEnvFields(cfg map[string]any, lookup func(string) (string, bool), file string) (EnvFields, Problems) {
	var probs Problems
	env := EnvFields{}
	total := 0
	var walk func(v any, field string) any
	walk = func(v any, field string) any {
		switch x := v.(type) {
		case string:
			if !strings.Contains(x, "{{") {
				return x
			}
			n, over := len(x), false
			out := envRef.ReplaceAllStringFunc(x, func(m string) string {
				name := envRef.FindStringSubmatch(m)[1]
				val, ok := lookup(name)
				if !ok {
					probs = append(probs, Errorf(file, field, "environment variable %s is not set", name))
				}
				if over {
					return ""
				}
				if n += len(val) - len(m); n > MaxExpandedString || total+n > MaxExpandedTotal {
					over = true
					return ""
				}
				return val
			})
			if over {
				// The size only: the value may be a secret.
				probs = append(probs, Errorf(file, field, "longer than %d KiB once environment variables are expanded", MaxExpandedString>>10))
				return ""
			}
			total += len(out)
			if out != x {
				env[field] = EnvValue{Template: x, Value: out}
			}
			return out
		case map[string]any:
			for _, k := range sortedKeys(x) {
				x[k] = walk(x[k], joinField(field, k))
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i], fmt.Sprintf("%s[%d]", field, i))
			}
		}
		return v
	}
	walk(cfg, "")
	return env, probs
}

func joinField(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EnvFields records, by field path ("appId", "authConfig.appSecret",
// "hosts[1]"), the strings ExpandEnvFields filled from environment
// variables: Template is the string as written ("{{WECHAT_APP_SECRET}}"),
// Value what it became. Messages must not show Value.
type EnvFields map[string]EnvValue

// EnvValue is one string expanded from environment variables.
type EnvValue struct {
	Template string
	Value    string
}

// describe names where the value of field came from, or "" when it came
// from no variable.
func (e EnvFields) describe(field string) string {
	v, ok := e[field]
	if !ok {
		return ""
	}
	return "the value of " + v.Template
}

// Redact replaces every expanded value in msg by "the value of {{VAR}}",
// so a message built from a config value (by a Type's own checks, say)
// cannot show what an environment variable holds. Values shorter than 3
// bytes are only replaced when quoted, so that they do not mangle words.
func (e EnvFields) Redact(msg string) string {
	if len(e) == 0 {
		return msg
	}
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	// Longest values first, so one value inside another does not leave a part.
	sort.Slice(keys, func(i, j int) bool {
		if a, b := len(e[keys[i]].Value), len(e[keys[j]].Value); a != b {
			return a > b
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		v := e[k]
		if v.Value == "" {
			continue
		}
		desc := "the value of " + v.Template
		msg = strings.ReplaceAll(msg, strconv.Quote(v.Value), desc)
		if len(v.Value) >= 3 {
			msg = strings.ReplaceAll(msg, v.Value, desc)
		}
	}
	return msg
}

// RedactProblems applies Redact to the message of each problem.
func (e EnvFields) RedactProblems(ps Problems) Problems {
	for _, p := range ps {
		p.Msg = e.Redact(p.Msg)
	}
	return ps
}
