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
	"time"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/services"
)

// API is the config every WeChat Type has beside its own, embedded in its
// config struct: where WeChat's API is (proxies, simulators) and the
// profile's language. Its tags are the keys' one description.
type API struct {
	APIBaseURLs URLs   `json:"apiBaseUrls" default:"https://api.weixin.qq.com,https://api2.weixin.qq.com"`
	Lang        string `json:"lang" default:"zh_CN" enum:"zh_CN,zh_TW,en"`
}

// URL is a config key holding an absolute http(s) URL, or a path on the
// same server; see CheckConfig.
type URL string

// CheckConfig is elements.Checker: v must be an absolute http(s) URL
// without a #fragment, or a path on the same server.
func (URL) CheckConfig(v any) error { return checkURL(v) }

// URLs is a config key holding a non-empty list of URLs.
type URLs []string

// CheckConfig is elements.Checker: every entry is a URL.
func (URLs) CheckConfig(v any) error { return checkURLList(v) }

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

// Service builds an instance's API client over what the host provides:
// the database, the HTTP client, the token sealer and the upstream
// observer, each when provided.
func Service(ctx elements.Context, cfg services.WechatConfig) *services.WechatPublicAuthSvc {
	opts := []services.Option{services.WithLogger(ctx.Logger())}
	if c, _ := elements.Lookup[*http.Client](ctx); c != nil {
		opts = append(opts, services.WithHTTPClient(c))
	}
	if o, _ := elements.Lookup[func(string, time.Duration, error)](ctx); o != nil {
		opts = append(opts, services.WithObserver(o))
	}
	if s, _ := elements.Lookup[elements.Sealer](ctx); s != nil {
		opts = append(opts, services.WithTokenCipher(s))
	}
	db, _ := elements.Lookup[*gorm.DB](ctx)
	return services.NewWechatPublicAuthSvc(cfg, db, opts...)
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
