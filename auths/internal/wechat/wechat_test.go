package wechat

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/services"
)

var scanning = Wording{SnapshotUser: "预览身份不能登录。", CodeUsed: "请重新扫码登录。", CodeInvalid: "请重新扫码登录。"}

// Every failure is one of the flow's codes with a Chinese message for the
// person; anything that is not WeChat's is left as it is.
func TestFailureMapsWeChatErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&services.WechatError{Endpoint: "sns/oauth2/access_token", Code: 40163}, http.StatusBadRequest, "code_used"},
		{&services.WechatError{Endpoint: "sns/oauth2/access_token", Code: 40029}, http.StatusBadRequest, "code_invalid"},
		{&services.WechatError{Endpoint: "sns/userinfo", Code: 50001}, http.StatusForbidden, "authorization_denied"},
		{&services.WechatError{Endpoint: "sns/oauth2/access_token", Code: 40125}, http.StatusBadGateway, "wechat_error"},
		{&services.UpstreamError{Endpoint: "sns/userinfo", TimedOut: true}, http.StatusGatewayTimeout, "wechat_timeout"},
		{&services.UpstreamError{Endpoint: "sns/userinfo", Status: 502}, http.StatusBadGateway, "wechat_unavailable"},
		{fmt.Errorf("x: %w", services.ErrSnapshotUser), http.StatusForbidden, "snapshot_user"},
	}
	for _, tc := range tests {
		var e *auths.Error
		if !errors.As(failure(tc.err, scanning), &e) || e.Status != tc.status || e.Code != tc.code || e.Message == "" || strings.ContainsAny(e.Message, "abcdefghijklmnopqrstuvwxyz") && tc.code != "wechat_error" {
			t.Errorf("failure(%v) = %+v, want %d %s", tc.err, e, tc.status, tc.code)
		}
	}
	plain := errors.New("other")
	if failure(plain, scanning) != plain {
		t.Error("an unknown error was rewritten")
	}
}
