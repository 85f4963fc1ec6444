package auths

import (
	"context"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/jitwx/jit/elements"
)

// Provider is the Go behaviour of one login element, an instance of a login
// Type such as auths.loginTypes.WechatPublicType. The HTTP flow, dev mode
// and the metrics reach a Type only through it (and the optional
// interfaces below), the way goth's flow reaches its providers: a new
// login Type needs no edit to the flow.
type Provider interface {
	// FullName is the element's full name, e.g. auths.loginTypes.MyWechatLogin.
	FullName() string
	// AuthCodeURL is where a browser is sent to log in. The provider's page
	// comes back to callbackURL with ?code=…&state=… (state as given,
	// possibly behind a fixed marker), or without code when refused.
	AuthCodeURL(callbackURL, state string) string
	// Exchange turns a callback's code into who logged in. It stores
	// nothing: the flow applies the registration policy, binding and the
	// login hook, then calls Login.Save inside its transaction. An *Error
	// it returns is shown to the person as it is.
	Exchange(ctx context.Context, code string) (*Login, error)
	// Public is what the front end may see (JitAi's getLoginConfig).
	Public() PublicConfig
	// Policy is the element's registration and linking rules.
	Policy() Policy
}

// Unbinder is implemented by providers that keep rows of their own about an
// identity (tokens); Unbind removes them in the unbind's transaction.
type Unbinder interface {
	Unbind(ctx context.Context, tx *gorm.DB, id Identity) error
}

// Simulated is implemented by providers that dev mode can point at the
// WeChat simulator: SimulatorApp names the app the simulator must know.
type Simulated interface {
	SimulatorApp() (appID, secret string)
}

// Identity is one account at a login provider: who logged in. AppID names
// the provider's app (a WeChat appId); OpenID the account within it;
// UnionID, when set, the same person across the apps of one WeChat Open
// Platform account.
type Identity struct {
	LoginType string `json:"loginType"`
	AppID     string `json:"appId"`
	OpenID    string `json:"openid"`
	UnionID   string `json:"unionid"`
}

// Profile is what the provider says about the person. Both may be empty
// (WeChat's snsapi_base gives neither).
type Profile struct {
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"headimgurl"`
}

// Login is the result of Exchange.
type Login struct {
	Identity Identity
	Profile  Profile
	// Save, when set, stores what the provider keeps of this login (WeChat
	// tokens) with the user's id, inside the login's transaction.
	Save func(ctx context.Context, tx *gorm.DB, userID string) error
}

// PublicConfig is the front end's view of a login element.
type PublicConfig struct {
	FullName string `json:"fullName"`
	Type     string `json:"type"`
	Title    string `json:"title"`
	AppID    string `json:"appId,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Default  bool   `json:"default"`
}

// Policy is what the family layer decides for every login Type.
type Policy struct {
	// AllowRegister: an unknown identity becomes a new user (JitAi's e.json
	// allowRegister, default on); otherwise the login is refused.
	AllowRegister bool
	// LinkByUnionid: an unknown identity whose unionid another identity
	// already has joins that identity's user (config linkByUnionid, default on).
	LinkByUnionid bool
	// Default marks the app's default login element (e.json default: 1),
	// where RequireLogin sends a browser.
	Default bool
	// AllowedRedirectHosts are hosts other than the app's own that a login
	// may return to.
	AllowedRedirectHosts []string
}

// Common is the config every login Type shares. A Type embeds it in its
// config struct, whose elements.SchemaOf then has these keys too, so one
// struct still describes the whole config. linkByUnionid's default (true)
// is NewPolicy's.
type Common struct {
	LinkByUnionid        *bool    `json:"linkByUnionid"`
	AllowedRedirectHosts []string `json:"allowedRedirectHosts"`
}

// CommonFields are the schema of Common, for a Type whose schema is not
// derived from a struct embedding it.
var CommonFields = elements.MustSchemaOf[Common]().Fields

// NewPolicy reads the family keys of an instance: allowRegister and default
// from its e.json (JitAi's keys, 1/0 or true/false), the rest from Common.
// A value of the wrong kind is an error naming the file and field.
func NewPolicy(def *elements.Definition, c Common) (Policy, error) {
	p := Policy{AllowRegister: true, LinkByUnionid: true, AllowedRedirectHosts: c.AllowedRedirectHosts}
	if c.LinkByUnionid != nil {
		p.LinkByUnionid = *c.LinkByUnionid
	}
	var err error
	if p.AllowRegister, err = flag(def, "allowRegister", true); err != nil {
		return p, err
	}
	p.Default, err = flag(def, "default", false)
	return p, err
}

// flag reads a JitAi on/off e.json key: 1/0, true/false, or absent.
func flag(def *elements.Definition, key string, absent bool) (bool, error) {
	v := def.Field(key)
	switch {
	case !v.Exists() || v.Raw == "null":
		return absent, nil
	case v.Raw == "1" || v.Raw == "true":
		return true, nil
	case v.Raw == "0" || v.Raw == "false":
		return false, nil
	}
	return false, elements.Errorf(def.File(elements.ElementFile), key, "must be 1 or 0 (or true or false), not %s", v.Raw)
}

// Type is the registration of a login Type.
type Type struct {
	elements.TypeInfo
	// Simulate, when set, returns the config values that point an instance
	// at dev mode's WeChat simulator, whose root (the stand-in for both
	// open.weixin.qq.com and api.weixin.qq.com) browsers reach at
	// browserBase (a path on this site) and this server at apiBase.
	Simulate func(browserBase, apiBase string) map[string]any
}

var (
	typesMu sync.RWMutex
	types   = map[string]Type{}
)

// RegisterType registers a login Type with the element runtime and the
// family, as a database/sql driver registers itself: call it from init.
func RegisterType(t Type) {
	elements.RegisterType(t.TypeInfo)
	typesMu.Lock()
	defer typesMu.Unlock()
	types[t.ID] = t
}

// Types lists the registered login Types, sorted by full name.
func Types() []Type {
	typesMu.RLock()
	defer typesMu.RUnlock()
	out := make([]Type, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CrossDevice is implemented by providers that can log a desktop in from a
// phone (the 公众号 login): the desktop shows a QR of a ticket, the phone
// logs in through the ticket's link and confirms. QRTicketTTL is how long
// a ticket lives.
type CrossDevice interface {
	QRTicketTTL() time.Duration
}
