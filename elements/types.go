package elements

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Kind is what an element is to the runtime.
type Kind int

const (
	KindMeta     Kind = iota + 1 // no type; behaviour lives in Go
	KindType                     // typed by a Meta or a Type; carries defaults
	KindInstance                 // typed by a Type; carries config
	KindInert                    // loaded and listed, but no implementation here
)

func (k Kind) String() string {
	switch k {
	case KindMeta:
		return "meta"
	case KindType:
		return "type"
	case KindInstance:
		return "instance"
	case KindInert:
		return "inert"
	}
	return "unknown"
}

// MarshalText makes kinds readable in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads what MarshalText wrote, so clients in Go can decode
// GET /api/elements.
func (k *Kind) UnmarshalText(b []byte) error {
	for c := KindMeta; c <= KindInert; c++ {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("unknown element kind %q", b)
}

// TypeInfo registers the Go behaviour of a Type under its full name, the
// way Caddy registers modules under dotted IDs.
type TypeInfo struct {
	ID string // full name of the Type element, e.g. auths.loginTypes.WechatPublicType
	// Schema is the config the Type accepts, normally SchemaOf its config
	// struct, so that the struct's tags are the one description of the
	// keys, their rules and their defaults.
	Schema Schema
	// New returns a fresh, zero element; the merged config, with the
	// schema's defaults filled in, is then decoded into it with
	// encoding/json (into the same config struct).
	New func() any
}

// Provisioner is implemented by elements that set themselves up once their
// config is decoded (open clients, derive values).
type Provisioner interface {
	Provision(ctx Context, inst *Instance) error
}

// Validator is implemented by elements that check their provisioned state.
type Validator interface {
	Validate() error
}

// CleanerUpper is implemented by elements that hold resources. Cleanup runs
// when provisioning fails and after a reload has swapped the element out.
type CleanerUpper interface {
	Cleanup() error
}

// Parent is implemented by elements that own sub-elements. The keys are
// names relative to the element ("services.WechatPublicAuthSvc"); every
// instance of the Type gets its own, bound to its own config.
type Parent interface {
	Children() map[string]any
}

// Sealer encrypts values stored in the database, such as WeChat tokens. A
// host that has a key provides one (Provide[Sealer]).
type Sealer interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// Instance is what a Type's element learns about the instance it serves.
type Instance struct {
	Def       *Definition
	TypeChain []string // the instance's type first, up to the Meta
	Impl      string   // the registered Type providing the behaviour
	Config    Config
	// ConfigFile is the file a person edits to change the config, as
	// problems name it, for a Type that checks its config itself.
	ConfigFile string
}

// FullName is the instance's full name.
func (i *Instance) FullName() string { return i.Def.FullName }

// Registry holds registered Types. Programs use the process-wide Default
// through RegisterType; tests that need isolation make their own.
type Registry struct {
	mu    sync.RWMutex
	types map[string]TypeInfo
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]TypeInfo{}} }

// Default is the registry that init() functions register into, as
// database/sql drivers do.
var Default = NewRegistry()

// RegisterType adds a Type to the Default registry. It panics on an empty or
// duplicate ID or a nil constructor: those are programming errors.
func RegisterType(info TypeInfo) { Default.Register(info) }

// Register adds a Type; see RegisterType.
func (r *Registry) Register(info TypeInfo) {
	if info.ID == "" {
		panic("elements: RegisterType with an empty ID")
	}
	if info.New == nil {
		panic(fmt.Sprintf("elements: RegisterType %s: New is nil", info.ID))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[info.ID]; dup {
		panic(fmt.Sprintf("elements: RegisterType called twice for %s", info.ID))
	}
	r.types[info.ID] = info
}

// Lookup returns a registered Type.
func (r *Registry) Lookup(id string) (TypeInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	info, ok := r.types[id]
	return info, ok
}

// IDs lists the registered Types, sorted.
func (r *Registry) IDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.types))
	for id := range r.types {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Build runs an element's lifecycle: fill in the schema's defaults, New,
// decode config, Provision, Validate. On failure whatever was provisioned
// is cleaned up. Provision's logger names the element.
func Build(ctx Context, info TypeInfo, inst *Instance) (any, error) {
	if err := fillDefaults(info.Schema, inst); err != nil {
		return nil, fmt.Errorf("decoding config for %s: %w", info.ID, err)
	}
	obj := info.New()
	if err := inst.Config.Decode(obj); err != nil {
		return nil, fmt.Errorf("decoding config for %s: %w", info.ID, err)
	}
	if p, ok := obj.(Provisioner); ok {
		if inst.Def != nil {
			ctx = ctx.WithLogger(ctx.Logger().With("element", inst.FullName()))
		}
		if err := p.Provision(ctx, inst); err != nil {
			cleanup(obj)
			return nil, err
		}
	}
	if v, ok := obj.(Validator); ok {
		if err := v.Validate(); err != nil {
			cleanup(obj)
			return nil, err
		}
	}
	return obj, nil
}

func cleanup(obj any) {
	if c, ok := obj.(CleanerUpper); ok {
		_ = c.Cleanup()
	}
}

// fillDefaults gives every field of s that inst's config leaves absent,
// null or "" its default, the way Validate treats such a field as absent.
func fillDefaults(s Schema, inst *Instance) error {
	if !s.hasDefaults() {
		return nil
	}
	var cfg map[string]any
	if raw := inst.Config.JSON(); len(raw) > 0 {
		// Numbers stay as written: a float64 would round large integers.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil {
			return err
		}
	}
	if !s.FillDefaults(&cfg) {
		return nil
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	inst.Config = NewConfig(raw)
	return nil
}
