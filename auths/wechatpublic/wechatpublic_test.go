package wechatpublic

import (
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeURLOrderAndEscaping(t *testing.T) {
	w := &Login{cfg: config{
		AppID: "wx0123456789abcdef", Scope: "snsapi_base", State: "m1",
		AuthorizeURL: "https://open.weixin.qq.com/connect/oauth2/authorize",
	}}
	got := w.AuthCodeURL("https://h5.example.com/auths/loginTypes/X/callback?a=1&b=中", "ABC123")
	want := "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef" +
		"&redirect_uri=" + url.QueryEscape("https://h5.example.com/auths/loginTypes/X/callback?a=1&b=中") +
		"&response_type=code&scope=snsapi_base&state=m1ABC123#wechat_redirect"
	if got != want {
		t.Fatalf("AuthorizeURL:\n got %s\nwant %s", got, want)
	}
	keys := []string{}
	u, _ := url.Parse(got)
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != "appid,redirect_uri,response_type,scope,state" {
		t.Fatalf("parameter order %v", keys)
	}

	w.cfg.AuthorizeURL = "https://proxy.example.com/authorize?tenant=1"
	if got := w.AuthCodeURL("https://a/cb", "S"); !strings.HasPrefix(got, "https://proxy.example.com/authorize?tenant=1&appid=") {
		t.Fatalf("existing query not kept: %s", got)
	}
}
