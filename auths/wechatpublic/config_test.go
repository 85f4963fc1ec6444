package wechatpublic

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "PubS3cretCanary9Qx7Zt3Wm5Yp1"
)

// config's tags are the schema and the defaults, which are what
// WechatPublicType.json used to spell out; the file no longer repeats them.
func TestOneStructDescribesTheConfig(t *testing.T) {
	want := map[string]any{
		"scope":        "snsapi_userinfo",
		"authorizeUrl": "https://open.weixin.qq.com/connect/oauth2/authorize",
		"apiBaseUrls":  []any{"https://api.weixin.qq.com", "https://api2.weixin.qq.com"},
		"lang":         "zh_CN",
		"qrTicketTtl":  120.0,
	}
	if got := schema.Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("defaults %v, want %v", got, want)
	}
	var names []string
	for _, f := range schema.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "appId appSecret scope state qrTicketTtl authorizeUrl apiBaseUrls lang linkByUnionid allowedRedirectHosts" {
		t.Errorf("keys %s", got)
	}
	raw, err := fs.ReadFile(auths.Builtin(), "auths/loginTypes/WechatPublicType/WechatPublicType.json")
	if err != nil {
		t.Fatal(err)
	}
	var builtin map[string]any
	if err := json.Unmarshal(raw, &builtin); err != nil {
		t.Fatal(err)
	}
	for k := range builtin {
		if _, ok := want[k]; ok {
			t.Errorf("WechatPublicType.json repeats the default of %s", k)
		}
	}
	checks := map[string]any{"qrTicketTtl": 20.0, "authorizeUrl": "ftp://x", "apiBaseUrls": []any{}}
	for _, p := range schema.Validate(checks, "X.json") {
		if p.Severity == elements.SeverityError && p.Field != "appId" && p.Field != "appSecret" {
			delete(checks, p.Field)
		}
	}
	if len(checks) != 0 {
		t.Errorf("no check for %v", checks)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Provision builds the service over what the host provides, found by type
// in its elements.Context: the HTTP client and the upstream observer here.
func TestProvisionUsesTheHostsResources(t *testing.T) {
	var sent, observed atomic.Int32
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		if r.URL.Path != "/sns/oauth2/access_token" || !strings.HasPrefix(r.URL.Host, "api") {
			t.Errorf("request to %s", r.URL)
		}
		return nil, errors.New("offline")
	})}
	host := elements.NewHost(nil, elements.Provide(client),
		elements.Provide(func(string, time.Duration, error) { observed.Add(1) }))
	info, ok := elements.Default.Lookup(Type)
	if !ok {
		t.Fatal("Type not registered")
	}
	def := &elements.Definition{FullName: "auths.loginTypes.P", Layer: "app", Type: Type, EJSON: []byte(`{}`)}
	obj, err := elements.Build(elements.NewContext(context.Background(), host), info, &elements.Instance{Def: def, Impl: Type,
		Config: elements.NewConfig([]byte(`{"appId":"` + testAppID + `","appSecret":"` + testSecret + `","scope":""}`))})
	if err != nil {
		t.Fatal(err)
	}
	l := obj.(*Login)
	if l.Scope() != "snsapi_userinfo" || l.QRTicketTTL() != 120*time.Second || !l.Policy().LinkByUnionid {
		t.Errorf("defaults: scope %s, ttl %v, policy %+v", l.Scope(), l.QRTicketTTL(), l.Policy())
	}
	if _, err := l.Service().GetAccessToken(t.Context(), "code"); err == nil {
		t.Fatal("the exchange worked offline")
	}
	if sent.Load() == 0 || observed.Load() == 0 {
		t.Errorf("host's client used %d times, observer told %d times", sent.Load(), observed.Load())
	}
}
