package wechatsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// webAppID is a website app (网站应用) of the same Open Platform account as
// appID: the simulator knows it like any other app.
const (
	webAppID  = "wxsimweb"
	webSecret = "simweb-secret"
)

func qrParams() url.Values {
	return url.Values{"appid": {webAppID}, "redirect_uri": {"https://www.example.com/cb"}, "response_type": {"code"},
		"scope": {"snsapi_login"}, "state": {"st4te"}}
}

func TestQRConnectPage(t *testing.T) {
	f := newFixture(t, WithBasePath("/_wechat"), WithApp(webAppID, webSecret), WithMountPath("/app"))
	valid := qrParams()
	with := func(k, v string) url.Values {
		q := qrParams()
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		want string
	}{
		{"ok", valid, `data-openid="oSim0000000000000000000000001"`},
		{"userinfo scope", with("scope", "snsapi_userinfo"), "Scope参数错误或没有Scope权限"},
		{"base scope", with("scope", "snsapi_base"), "Scope参数错误或没有Scope权限"},
		{"no scope", with("scope", ""), "Scope参数错误或没有Scope权限"},
		{"no appid", with("appid", ""), "10012"},
		{"unknown appid", with("appid", "wxnope"), "appid无效"},
		{"no redirect", with("redirect_uri", ""), "10011"},
		{"no state", with("state", ""), "10013"},
		{"long state", with("state", strings.Repeat("a", 129)), "state参数过长"},
		{"bad response_type", with("response_type", "token"), "response_type"},
		{"fragment in redirect", with("redirect_uri", "https://www.example.com/#/cb"), "10003"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := f.get(t, "/_wechat/connect/qrconnect", tc.q)
			if status != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body lacks %q:\n%s", status, tc.want, body)
			}
			if tc.name != "ok" && strings.Contains(body, `id="wx-form"`) {
				t.Errorf("an error page shows the consent form")
			}
		})
	}
	if got := f.sim.Calls(EndpointQRConnect); got != len(tests) {
		t.Errorf("qrconnect calls = %d, want %d", got, len(tests))
	}
	if got := f.sim.Calls(EndpointAuthorize); got != 0 {
		t.Errorf("authorize calls = %d, want 0", got)
	}
	// The Official Account page does not take the website app's scope.
	oa := with("scope", "snsapi_login")
	if _, body, _ := f.get(t, "/_wechat/connect/oauth2/authorize", oa); !strings.Contains(body, "10005") {
		t.Errorf("authorize page took snsapi_login:\n%s", body)
	}

	_, page, _ := f.get(t, "/_wechat/connect/qrconnect", valid)
	for _, want := range []string{
		"<title>微信扫码登录（模拟）</title>", `<h1 id="wx-title">微信扫码登录（模拟）</h1>`, "二维码",
		`action="/app/_wechat/connect/qrconnect"`, `<input type="hidden" name="scope" value="snsapi_login">`,
		`id="wx-deny"`, `id="wx-nickname"`, `小明😀`, `src="/app/_wechat/avatar/1.svg"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("QR page lacks %s:\n%s", want, page)
		}
	}
	_, oaPage, _ := f.get(t, "/_wechat/connect/oauth2/authorize", with("scope", "snsapi_userinfo"))
	if !strings.Contains(oaPage, "<title>微信授权（模拟器）</title>") || strings.Contains(oaPage, "扫码") {
		t.Errorf("the authorize page changed its title:\n%s", oaPage)
	}

	submit := func(t *testing.T, form url.Values) *url.URL {
		t.Helper()
		v := qrParams()
		for k, vv := range form {
			v[k] = vv
		}
		resp, err := f.client.PostForm(f.srv.URL+"/_wechat/connect/qrconnect", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	t.Run("scan and confirm", func(t *testing.T) {
		loc := submit(t, url.Values{"openid": {"oSim0000000000000000000000002"}})
		q := loc.Query()
		if loc.Host != "www.example.com" || q.Get("state") != "st4te" || q.Get("code") == "" {
			t.Fatalf("location = %s", loc)
		}
		m := f.tokenIn(t, webAppID, webSecret, q.Get("code"))
		if m["openid"] != "oSim0000000000000000000000002" || m["scope"] != "snsapi_login" || m["unionid"] != "uSim000000000000000000000002" {
			t.Errorf("token = %v", m)
		}
		_, body, info := f.get(t, "/_wechat/sns/userinfo", url.Values{"access_token": {m["access_token"].(string)}, "openid": {m["openid"].(string)}})
		if info["nickname"] != "李雷" || info["unionid"] != "uSim000000000000000000000002" {
			t.Errorf("userinfo with a snsapi_login token = %s", body)
		}
	})
	t.Run("refuse", func(t *testing.T) {
		loc := submit(t, url.Values{"action": {"deny"}})
		if loc.Query().Has("code") || loc.Query().Get("state") != "st4te" {
			t.Errorf("location = %s", loc)
		}
	})
	t.Run("a form with another scope issues no code", func(t *testing.T) {
		resp, err := f.client.PostForm(f.srv.URL+"/_wechat/connect/qrconnect", with("scope", "snsapi_userinfo"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Errorf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
