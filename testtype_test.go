package jit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
)

// testOnlyType is a second login Type, registered only in this test binary,
// that logs in through the same routes as WechatPublicType: the proof that
// a new Type needs no edit to the flow. Its "provider" accepts any code
// "fake-<openid>".
const testOnlyType = "auths.loginTypes.TestOnlyType"

func init() {
	auths.RegisterType(auths.Type{TypeInfo: elements.TypeInfo{
		ID:     testOnlyType,
		Schema: elements.Schema{Fields: append([]elements.Field{{Name: "appId", Kind: elements.String, Required: true}}, auths.CommonFields...)},
		New:    func() any { return new(fakeLogin) },
	}})
}

type fakeLogin struct {
	cfg struct {
		auths.Common
		AppID string `json:"appId"`
	}
	fullName string
	policy   auths.Policy
}

func (f *fakeLogin) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &f.cfg) }

func (f *fakeLogin) Provision(_ elements.Context, inst *elements.Instance) (err error) {
	f.fullName = inst.FullName()
	f.policy, err = auths.NewPolicy(inst.Def, f.cfg.Common)
	return err
}

func (f *fakeLogin) FullName() string     { return f.fullName }
func (f *fakeLogin) Policy() auths.Policy { return f.policy }
func (f *fakeLogin) Public() auths.PublicConfig {
	return auths.PublicConfig{FullName: f.fullName, Type: testOnlyType, AppID: f.cfg.AppID}
}

func (f *fakeLogin) AuthCodeURL(callbackURL, state string) string {
	return "https://provider.invalid/authorize?" + url.Values{"redirect_uri": {callbackURL}, "state": {state}}.Encode()
}

func (f *fakeLogin) Exchange(_ context.Context, code string) (*auths.Login, error) {
	openid, ok := strings.CutPrefix(code, "fake-")
	if !ok || openid == "" {
		return nil, &auths.Error{Status: http.StatusBadRequest, Code: "code_invalid", Message: "授权码无效，请重新登录。"}
	}
	return &auths.Login{
		Identity: auths.Identity{LoginType: f.fullName, AppID: f.cfg.AppID, OpenID: openid},
		Profile:  auths.Profile{Nickname: "Fake " + openid},
	}, nil
}
