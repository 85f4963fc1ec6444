package elements_test

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jitwx/jit/elements"
)

// TestJSONSyntaxMessages: a file that is not JSON says line, column and,
// for the usual hand-editing mistakes, why; in e.json and config files.
func TestJSONSyntaxMessages(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"trailing comma in object", "{\n  \"a\": 1,\n}", "line 3, column 1: trailing comma before } (remove the last comma)"},
		{"trailing comma in array", `{"a": [1, 2, ]}`, "line 1, column 14: trailing comma before ] (remove the last comma)"},
		{"line comment", "{\n  // the login\n  \"a\": 1\n}", "line 2, column 3: JSON has no comments (remove the // comment)"},
		{"block comment", "/* x */ {}", "line 1, column 1: JSON has no comments (remove the /* comment)"},
		{"single quotes", `{'a': 1}`, "line 1, column 2: strings and keys need double quotes, not single quotes"},
		{"single-quoted value", `{"a": 'b'}`, "line 1, column 7: strings and keys need double quotes, not single quotes"},
		{"missing closing quote", "{\"a\": \"b\n}", "line 1, column 9: line break inside a string (a missing closing quote?)"},
		{"ends in a string", `{"a": "b`, "line 1, column 9: the file ends inside a string (a missing closing quote?)"},
		{"unquoted key", `{a: 1}`, "line 1, column 2: keys need double quotes"},
		{"missing comma", "{\"a\": 1\n \"b\": 2}", "line 2, column 2: missing comma before this value"},
		{"missing value", `{"a": }`, "line 1, column 7: a value is missing after the colon"},
		{"ends early", `{"a": {"b": 1}`, "line 1, column 15: the file ends too early (a missing } or ]?)"},
		{"extra bracket", `{"a": 1}}`, "line 1, column 9: text after the end of the JSON value (an extra } or ]?)"},
		{"columns count characters", `{"标题": 1,}`, "line 1, column 10: trailing comma before } (remove the last comma)"},
		{"empty", "  \n", "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := elements.JSONSyntax([]byte(tc.body)); got != tc.want {
				t.Errorf("JSONSyntax(%q)\n got  %q\n want %q", tc.body, got, tc.want)
			}
			fsys := fstest.MapFS{"a/X/e.json": {Data: []byte(tc.body)}}
			_, probs := elements.ReadDefinition(fsys, "app", "a/X")
			checkProblems(t, probs, "error a/X/e.json: not valid JSON: "+tc.want)
			fsys = fstest.MapFS{"a/X/e.json": {Data: []byte(`{"type":"a.BType"}`)}, "a/X/X.json": {Data: []byte(tc.body)}}
			_, probs = elements.ReadDefinition(fsys, "app", "a/X")
			checkProblems(t, probs, "error a/X/X.json: not valid JSON: "+tc.want)
		})
	}
	if got := elements.JSONSyntax([]byte("\xEF\xBB\xBF{\"a\":1}")); got != "" {
		t.Errorf("valid JSON with a BOM: %q", got)
	}
}

var hintSchema = elements.Schema{
	Fields: []elements.Field{
		{Name: "appId", Kind: elements.String},
		{Name: "appSecret", Kind: elements.String, Secret: true},
		{Name: "redirectHosts", Kind: elements.StringArray},
		{Name: "ttl", Kind: elements.Number},
	},
	Hints: map[string]string{"authConfig": "appId and appSecret go at the top level"},
}

// TestUnknownKeyMessages: "did you mean" by case or a small edit distance,
// per-schema hints, and JitAi's own keys never warned about.
func TestUnknownKeyMessages(t *testing.T) {
	cfg := map[string]any{
		"appid": "x", "APPSECRET": "y", "redirectHost": []any{}, "tll": 1.0, "zz": 1.0, "ab": 1.0,
		"authConfig": map[string]any{},
		"isActive":   true, "default": 1.0, "allowRegister": 1.0, "backendBundleEntry": ".", "frontBundleEntry": "./X.json", "fullName": "a.X",
	}
	checkProblems(t, hintSchema.Validate(cfg, "a/X/X.json"),
		"warning a/X/X.json: APPSECRET: unknown key (ignored; did you mean appSecret?)",
		"warning a/X/X.json: ab: unknown key (ignored)",
		"warning a/X/X.json: appid: unknown key (ignored; did you mean appId?)",
		"warning a/X/X.json: authConfig: unknown key (ignored): appId and appSecret go at the top level",
		"warning a/X/X.json: redirectHost: unknown key (ignored; did you mean redirectHosts?)",
		"warning a/X/X.json: tll: unknown key (ignored; did you mean ttl?)",
		"warning a/X/X.json: zz: unknown key (ignored)",
	)
}

// TestEJSONFullName: JitAi's fullName and other e.json keys are accepted;
// a fullName that disagrees with the folder is a warning naming both.
func TestEJSONFullName(t *testing.T) {
	fsys := fstest.MapFS{
		"auths/loginTypes/X/e.json": {Data: []byte(`{"type":"a.BType","fullName":"auths.loginTypes.X","isActive":1,"default":1,"allowRegister":0,"backendBundleEntry":"."}`)},
		"auths/loginTypes/Y/e.json": {Data: []byte(`{"type":"a.BType","fullName":"auths.loginTypes.Old"}`)},
		"auths/loginTypes/Z/e.json": {Data: []byte(`{"type":"a.BType","fullName":3}`)},
	}
	d, probs := elements.ReadDefinition(fsys, "app", "auths/loginTypes/X")
	if d == nil {
		t.Fatal("X not read")
	}
	checkProblems(t, probs)
	d, probs = elements.ReadDefinition(fsys, "app", "auths/loginTypes/Y")
	if d == nil || d.FullName != "auths.loginTypes.Y" {
		t.Fatalf("Y: %+v", d)
	}
	checkProblems(t, probs, `warning auths/loginTypes/Y/e.json: fullName: "auths.loginTypes.Old" does not match the folder path auths/loginTypes/Y (full name auths.loginTypes.Y); the folder path wins`)
	_, probs = elements.ReadDefinition(fsys, "app", "auths/loginTypes/Z")
	checkProblems(t, probs, `warning auths/loginTypes/Z/e.json: fullName: must be a string (ignored: the folder path auths/loginTypes/Z gives the full name auths.loginTypes.Z)`)
}

func TestNameSegmentProblem(t *testing.T) {
	for name, want := range map[string]string{
		"MyWechatLogin": "", "_x": "", "9lives": "", "登录": "", "with-dash": "", "a_b1": "",
		"v1.2":   "it contains a dot, which separates the segments of a full name",
		"my x":   "it contains a space",
		"tab\tx": "it contains a space",
		"-x":     "it must start with a letter, a digit or _",
		"@x":     "it must start with a letter, a digit or _",
		"":       "it is empty",
	} {
		if got := elements.NameSegmentProblem(name); got != want {
			t.Errorf("NameSegmentProblem(%q) = %q, want %q", name, got, want)
		}
	}
	if p := elements.CheckFolderPath("parent", "a/b c/D"); p == nil || p.Error() != `parent/a/b c/D: folder name "b c" cannot be part of a full name (a.b c.D): it contains a space; rename folder parent/a/b c` {
		t.Errorf("CheckFolderPath: %v", p)
	}
	if p := elements.CheckFolderPath("app", "auths/loginTypes/X"); p != nil {
		t.Errorf("CheckFolderPath of a good path: %v", p)
	}
}

var envSchema = elements.Schema{Fields: []elements.Field{
	{Name: "appId", Kind: elements.String, Pattern: mustRe(`^wx[0-9a-f]{16}$`), Hint: `"wx" followed by 16 hex digits`},
	{Name: "label", Kind: elements.String, Check: func(v any) error {
		return errorString("label " + `"` + v.(string) + `"` + " is taken")
	}},
	{Name: "scope", Kind: elements.String, Enum: []string{"a", "b"}},
}}

// TestEnvValuesNeverQuoted: a value that came from an environment
// variable is named by its variable in every message, whatever the key.
func TestEnvValuesNeverQuoted(t *testing.T) {
	const secret = "S3cretValueFromEnv"
	cfg := map[string]any{"appId": "{{APP_SECRET}}", "label": "x-{{ APP_SECRET }}", "scope": "{{APP_SECRET}}", "plain": "wx1"}
	env, probs := elements.ExpandEnvFields(cfg, func(string) (string, bool) { return secret, true }, "a/X/X.json")
	checkProblems(t, probs)
	if env["appId"].Value != secret || env["appId"].Template != "{{APP_SECRET}}" || len(env) != 3 {
		t.Fatalf("EnvFields: %+v", env)
	}
	got := envSchema.ValidateEnv(cfg, "a/X/X.json", env)
	checkProblems(t, got,
		`error a/X/X.json: appId: must be "wx" followed by 16 hex digits, not the value of {{APP_SECRET}}`,
		`error a/X/X.json: label: label the value of x-{{ APP_SECRET }} is taken`,
		`error a/X/X.json: scope: must be one of "a", "b"`,
		`warning a/X/X.json: plain: unknown key (ignored)`,
	)
	if s := strings.Join(problemStrings(got), "\n"); strings.Contains(s, secret) {
		t.Errorf("secret shown:\n%s", s)
	}
	// Without the record, the value is quoted as before.
	checkProblems(t, envSchema.Validate(map[string]any{"appId": "wx1"}, "f"), `error f: appId: must be "wx" followed by 16 hex digits, not "wx1"`)
	// Redact covers messages built elsewhere (a Type's Provision).
	if got := env.Redact(`authConfig.appId: must be x, not "` + secret + `"`); got != "authConfig.appId: must be x, not the value of {{APP_SECRET}}" {
		t.Errorf("Redact: %q", got)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func mustRe(s string) *regexp.Regexp { return regexp.MustCompile(s) }
