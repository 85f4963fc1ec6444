package jit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
)

// inventingType is a login Type, registered only in this test binary, whose
// provider refuses every code with an error code and errcode of its own
// invention taken from the code: what a careless Type that passes an
// upstream's answer through would do.
const inventingType = "auths.loginTypes.InventingCodesType"

func init() {
	auths.RegisterType(auths.Type{TypeInfo: elements.TypeInfo{
		ID:     inventingType,
		Schema: elements.Schema{Fields: append([]elements.Field{{Name: "appId", Kind: elements.String, Required: true}}, auths.CommonFields...)},
		New:    func() any { return &inventingLogin{fakeLogin: new(fakeLogin)} },
	}})
}

type inventingLogin struct{ *fakeLogin }

func (f *inventingLogin) Exchange(_ context.Context, code string) (*auths.Login, error) {
	n, _ := strconv.Atoi(code)
	return nil, &auths.Error{Status: http.StatusBadRequest, Code: "invented_" + code, Message: "refused", ErrCode: n}
}

// requestLogLines are the JSON "request" lines of the log.
func requestLogLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %.300s", line)
		}
		if rec["msg"] == "request" {
			out = append(out, rec)
		}
	}
	return out
}

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// A client's or proxy's X-Request-ID is kept only when it is at most 64
// letters, digits, '.', '_' or '-'; anything else (half a megabyte, quotes,
// spaces, non-ASCII) is replaced by a new id in the response and the log.
func TestRequestIDFromClientIsKeptOnlyWhenSane(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	huge := strings.Repeat("A", 500<<10)
	cases := []struct {
		sent string
		keep bool
	}{
		{"abc-123.DEF_x", true},
		{strings.Repeat("a", 64), true},
		{"5f0c2b1e-7d3a-4e8b-9c1d-2a3b4c5d6e7f", true},
		{strings.Repeat("a", 65), false},
		{huge, false},
		{`x" injected="1`, false},
		{"id with spaces", false},
		{"a/b", false},
		{"a:b", false},
		{"{\"json\":1}", false},
		{"évil", false},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, b.abs("/healthz"), nil)
		req.Header.Set("X-Request-ID", tc.sent)
		r := b.do(req)
		got := r.Header.Get("X-Request-ID")
		if !saneRequestID.MatchString(got) {
			t.Errorf("sent %.40q: response X-Request-ID %.80q is not a sane id", tc.sent, got)
		}
		if tc.keep != (got == tc.sent) {
			t.Errorf("sent %.40q: response X-Request-ID %.80q (keep %v)", tc.sent, got, tc.keep)
		}
		found := false
		for _, rec := range requestLogLines(t, e.logs.String()) {
			if rec["request_id"] == got && rec["path"] == "/healthz" {
				found = true
			}
		}
		if !found {
			t.Errorf("sent %.40q: no request line with request_id %q", tc.sent, got)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, huge[:1000]) || len(logs) > 64<<10 {
		t.Errorf("the 500 kB request id reached the log (%d bytes of log)", len(logs))
	}
}

// A long path is cut at 256 characters in the request log, and an element
// name an error message quotes at 64.
func TestRequestLogAndErrorsCutLongPaths(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	long := strings.Repeat("p", 5000)
	longName := strings.Repeat("N", 5000)
	wide := strings.Repeat("熊", 3000) // multi-byte: cut by characters, still valid UTF-8

	wantError(t, b.get("/"+long), http.StatusNotFound, "not_found")
	wantError(t, b.get("/"+wide), http.StatusNotFound, "not_found")
	for _, p := range []string{"/auths/loginTypes/" + longName + "/callback?code=a&state=b", "/auths/loginTypes/" + longName + "/login"} {
		r := b.get(p)
		wantError(t, r, http.StatusNotFound, "login_type_not_found")
		var body apiError
		_ = json.Unmarshal(r.body, &body)
		if strings.Contains(body.Message, longName[:257]) || utf8.RuneCountInString(body.Message) > 400 {
			t.Errorf("GET %.60s…: message of %d characters quotes the whole name: %.120s…", p, utf8.RuneCountInString(body.Message), body.Message)
		}
		if !strings.Contains(body.Message, longName[:64]) {
			t.Errorf("GET %.60s…: message %.120q lost the name's start", p, body.Message)
		}
	}

	lines := requestLogLines(t, e.logs.String())
	if len(lines) != 4 {
		t.Fatalf("%d request lines, want 4", len(lines))
	}
	for _, rec := range lines {
		p, _ := rec["path"].(string)
		if n := utf8.RuneCountInString(p); n > 256 || !strings.HasSuffix(p, "…") || !utf8.ValidString(p) {
			t.Errorf("logged path of %d characters: %.80q…", n, p)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, long[:300]) || strings.Contains(logs, longName[:300]) || strings.Contains(logs, wide[:900]) {
		t.Errorf("a whole long path reached the log")
	}
	// A path of 256 characters is logged whole.
	exact := "/" + strings.Repeat("q", 255)
	b.get(exact)
	lines = requestLogLines(t, e.logs.String())
	if got := lines[len(lines)-1]["path"]; got != exact {
		t.Errorf("a 256-character path was logged as %q", got)
	}
}

// metricLine matches one sample of a login or WeChat request metric.
var metricLine = regexp.MustCompile(`^(jit_login_attempts_total|jit_wechat_request_duration_seconds_count)\{(.*)\} (\S+)$`)

// scrapeLabels returns the samples of the two metrics as their label sets.
func scrapeLabels(t *testing.T, b *browser) (samples []map[string]string, text string) {
	t.Helper()
	r := b.get("/metrics")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", r.StatusCode)
	}
	for _, line := range strings.Split(string(r.body), "\n") {
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		labels := map[string]string{"__name__": m[1]}
		for _, kv := range strings.Split(m[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		samples = append(samples, labels)
	}
	return samples, string(r.body)
}

// The errcode, result and outcome labels take values from fixed sets
// (WeChat's documented errcodes, the flow's codes) and "other": a server
// answering as WeChat with made-up errcodes, or a login Type inventing
// codes, cannot grow the metrics without bound.
func TestMetricLabelsAreBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(dir, os.DirFS(loginFixture)); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"auths/loginTypes/Inventive/e.json":         `{"title": "inventive", "type": "` + inventingType + `"}`,
		"auths/loginTypes/Inventive/Inventive.json": `{"appId": "inventive"}`,
	})
	// The fake WeChat refuses a code "ERR<n>" with errcode n.
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n, ok := strings.CutPrefix(r.URL.Query().Get("code"), "ERR"); ok && r.URL.Path == "/sns/oauth2/access_token" {
				w.Header().Set("Content-Type", "text/plain")
				fmt.Fprintf(w, `{"errcode":%s,"errmsg":"made up, rid: x"}`, n)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newLoginEnv(t, envOptions{fixture: dir, wrapWX: wrap})
	const n = 6 // each login is two requests on the rate-limited routes
	for i := range n {
		b := e.browser()
		r := b.get(callbackPath(mainLogin, fmt.Sprintf("ERR%d", 900001+i), b.startLogin(mainLogin, "/")))
		wantError(t, r, http.StatusBadGateway, "wechat_error")
		b = e.browser()
		r = b.get(callbackPath("Inventive", strconv.Itoa(700001+i), b.startLogin("Inventive", "/")))
		wantError(t, r, http.StatusBadRequest, "invented_"+strconv.Itoa(700001+i)) // the person still sees it
	}
	b := e.browser() // a documented errcode keeps its label
	b.get(callbackPath(mainLogin, "ERR45011", b.startLogin(mainLogin, "/")))

	samples, text := scrapeLabels(t, e.browser())
	for _, want := range []string{
		fmt.Sprintf(`jit_login_attempts_total{element="auths.loginTypes.%s",errcode="other",outcome="wechat_error"} %d`, mainLogin, n),
		fmt.Sprintf(`jit_login_attempts_total{element="auths.loginTypes.Inventive",errcode="other",outcome="other"} %d`, n),
		fmt.Sprintf(`jit_login_attempts_total{element="auths.loginTypes.%s",errcode="45011",outcome="wechat_error"} 1`, mainLogin),
		fmt.Sprintf(`jit_wechat_request_duration_seconds_count{endpoint="sns/oauth2/access_token",result="errcode_other"} %d`, n),
		`jit_wechat_request_duration_seconds_count{endpoint="sns/oauth2/access_token",result="errcode_45011"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if len(samples) != 5 {
		t.Errorf("%d samples, want 5: %v", len(samples), samples)
	}
	for _, s := range samples {
		for k, v := range s {
			if strings.Contains(v, "9000") || strings.Contains(v, "7000") || strings.Contains(v, "invented") {
				t.Errorf("label %s=%q came from the request", k, v)
			}
		}
	}
}

// The active sessions gauge is counted at most every 15 seconds, not on
// every scrape: a login right after a scrape shows on a later one, and a
// burst of scrapes costs the database one COUNT(*) at most.
func TestMetricActiveSessionsIsCachedBetweenScrapes(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	gauge := func() string {
		_, text := scrapeLabels(t, b)
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, "jit_active_sessions "); ok {
				return v
			}
		}
		t.Fatal("no jit_active_sessions")
		return ""
	}
	if v := gauge(); v != "0" {
		t.Fatalf("before any login: %s", v)
	}
	wantLoggedIn(t, b.fullLogin(mainLogin, userPanda.OpenID, "/me"), "/me")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if v := gauge(); v != "0" {
				t.Errorf("scrape right after the login: %s, want the cached 0", v)
			}
		})
	}
	wg.Wait()
}
