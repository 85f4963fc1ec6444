// Package wechat is what the WeChat login Types (auths/wechatpublic, the
// 公众号; auths/wechatweb, the website app) share: both talk to the same
// sns API through services.WechatPublicAuthSvc.
package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/services"
)

// Fields are the config keys every WeChat Type has beside its own: where
// the authorize page and the API are (proxies, simulators) and the
// profile's language.
var Fields = []elements.Field{
	{Name: "authorizeUrl", Kind: elements.String, Check: checkURL},
	{Name: "apiBaseUrls", Kind: elements.StringArray, Check: checkURLList},
	{Name: "lang", Kind: elements.String, Enum: []string{"zh_CN", "zh_TW", "en"}},
}

func checkURL(v any) error {
	s := v.(string)
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return nil // same server: simulators and reverse proxies
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL, not %q", s)
	}
	if u.Fragment != "" {
		return errors.New("must not contain a #fragment")
	}
	return nil
}

func checkURLList(v any) error {
	list := v.([]any)
	if len(list) == 0 {
		return errors.New("must list at least one URL")
	}
	for i, x := range list {
		if err := checkURL(x); err != nil {
			return fmt.Errorf("[%d] %w", i, err)
		}
	}
	return nil
}

// Service builds an instance's API client over what the runtime shares.
func Service(inst *elements.Instance, cfg services.WechatConfig) *services.WechatPublicAuthSvc {
	var opts []services.Option
	h := inst.Host
	if h.HTTPClient != nil {
		opts = append(opts, services.WithHTTPClient(h.HTTPClient))
	}
	if h.ObserveUpstream != nil {
		opts = append(opts, services.WithObserver(h.ObserveUpstream))
	}
	if h.Sealer != nil {
		opts = append(opts, services.WithTokenCipher(h.Sealer))
	}
	if h.Logger != nil {
		opts = append(opts, services.WithLogger(h.Logger.With("element", inst.FullName())))
	}
	return services.NewWechatPublicAuthSvc(cfg, h.DB, opts...)
}

// Wording is what a Type tells the person when the login must be started
// again: inside WeChat ("重新登录") or at a screen ("重新扫码登录").
type Wording struct {
	SnapshotUser, CodeUsed, CodeInvalid string
}

// Exchange turns a callback's code into the login of loginType's appID:
// the token, the profile, and the tokens' row saved with the user.
func Exchange(ctx context.Context, svc *services.WechatPublicAuthSvc, loginType, appID string, w Wording, code string) (*auths.Login, error) {
	tok, err := svc.GetAccessToken(ctx, code)
	if err != nil {
		return nil, failure(err, w)
	}
	info, err := svc.Profile(ctx, tok)
	if err != nil {
		return nil, failure(err, w)
	}
	return &auths.Login{
		Identity: auths.Identity{LoginType: loginType, AppID: appID, OpenID: info.OpenID, UnionID: info.UnionID},
		Profile:  auths.Profile{Nickname: info.Nickname, AvatarURL: info.HeadImgURL},
		Save: func(ctx context.Context, tx *gorm.DB, userID string) error {
			return svc.SaveLogin(ctx, tx, tok, info, userID)
		},
	}, nil
}

// Unbind forgets the stored tokens and profile of an unbound identity.
func Unbind(ctx context.Context, svc *services.WechatPublicAuthSvc, tx *gorm.DB, id auths.Identity) error {
	return svc.Forget(ctx, tx, id.OpenID)
}

// failure maps a WeChat or network failure to what the person sees: 4xx
// for what starting again fixes, 502/504 for WeChat's own trouble, in
// Chinese.
func failure(err error, w Wording) error {
	var we *services.WechatError
	var ue *services.UpstreamError
	switch {
	case errors.Is(err, services.ErrSnapshotUser):
		return &auths.Error{Status: http.StatusForbidden, Code: "snapshot_user", Message: w.SnapshotUser}
	case services.IsCodeUsed(err):
		return &auths.Error{Status: http.StatusBadRequest, Code: "code_used", Message: w.CodeUsed, ErrCode: 40163}
	case services.IsCodeInvalid(err) && errors.As(err, &we):
		return &auths.Error{Status: http.StatusBadRequest, Code: "code_invalid", Message: w.CodeInvalid, ErrCode: we.Code}
	case errors.As(err, &we) && (we.Code == 50001 || we.Code == 50002):
		return &auths.Error{Status: http.StatusForbidden, Code: "authorization_denied", Message: "微信没有授权这个账号登录。", ErrCode: we.Code}
	case errors.As(err, &we):
		return &auths.Error{Status: http.StatusBadGateway, Code: "wechat_error", Message: fmt.Sprintf("微信拒绝了登录请求（错误码 %d），请稍后再试。", we.Code), ErrCode: we.Code}
	case errors.As(err, &ue) && ue.Timeout():
		return &auths.Error{Status: http.StatusGatewayTimeout, Code: "wechat_timeout", Message: "微信没有及时响应，请稍后再试。"}
	case errors.As(err, &ue):
		return &auths.Error{Status: http.StatusBadGateway, Code: "wechat_unavailable", Message: "暂时无法连接微信，请稍后再试。"}
	}
	return err
}
