package services

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// stubTransport answers every request with one fuzzed response.
type stubTransport struct {
	status int
	body   []byte
}

func (s stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: s.status, Body: io.NopCloser(bytes.NewReader(s.body)), Header: http.Header{"Content-Type": {"text/plain"}}, Request: r}, nil
}

// FuzzWechatResponse feeds any body and status to the decoding of WeChat's
// answers: the result is a typed error or a token with access_token and
// openid, never a panic and never an empty success.
func FuzzWechatResponse(f *testing.F) {
	seeds := []string{
		`{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"O","scope":"snsapi_userinfo","unionid":"U"}`,
		`{"errcode":40029,"errmsg":"invalid code, rid: 645ca8fe-448ccd42-1a78a4b0"}`,
		`{"errcode":-1,"errmsg":"system error"}`,
		`{"errcode":0,"errmsg":"ok"}`,
		`{"openid":"O","nickname":"小明😀","sex":0,"headimgurl":"https:\/\/x\/0","privilege":[]}`,
		`<html>502 Bad Gateway</html>`, `[]`, `null`, ``, `{"access_token":1,"openid":{}}`,
	}
	for _, s := range seeds {
		f.Add(200, []byte(s))
	}
	f.Add(502, []byte("bad gateway"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		s := NewWechatPublicAuthSvc(WechatConfig{AppID: "wx0123456789abcdef", AppSecret: "FuzzSecret0123456789", APIBaseURLs: []string{"http://wechat.invalid"}}, nil,
			WithHTTPClient(&http.Client{Transport: stubTransport{status, body}}), WithRetry(1, time.Millisecond))
		tok, err := s.GetAccessToken(t.Context(), "CODE")
		checkOutcome(t, err, tok != nil && tok.AccessToken != "" && tok.OpenID != "")
		info, err := s.Login(t.Context(), &AccessToken{AccessToken: "AT", OpenID: "O", Scope: "snsapi_userinfo"})
		checkOutcome(t, err, info != nil && info.OpenID != "")
	})
}

func checkOutcome(t *testing.T, err error, validSuccess bool) {
	t.Helper()
	var we *WechatError
	var ue *UpstreamError
	switch {
	case err == nil && !validSuccess:
		t.Fatal("empty success")
	case err != nil && !errors.As(err, &we) && !errors.As(err, &ue):
		t.Fatalf("untyped error: %v", err)
	case err != nil && bytes.Contains([]byte(err.Error()), []byte("FuzzSecret0123456789")):
		t.Fatalf("secret in error: %v", err)
	}
}
