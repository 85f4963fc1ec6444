package elements

import (
	"context"
	"log/slog"
	"reflect"
)

// Host is what the program that runs the elements shares with every element
// it builds: a logger, and resources provided by their Go type (the App's
// *gorm.DB, an *http.Client, a Sealer, ...). elements never names those
// types: the program provides them and the packages that use them look
// them up, the way caddy.Context hands modules their App.
type Host struct {
	logger *slog.Logger
	values map[reflect.Type]any
}

// Provided is one resource for NewHost; see Provide.
type Provided struct {
	typ   reflect.Type
	value any
}

// Provide offers v to elements under its static type T: Provide(db) is
// found by Lookup[*gorm.DB], Provide[Sealer](s) by Lookup[Sealer].
func Provide[T any](v T) Provided { return Provided{reflect.TypeFor[T](), v} }

// NewHost returns a Host with a logger (nil: discard) and resources.
func NewHost(logger *slog.Logger, provided ...Provided) *Host {
	h := &Host{logger: logger, values: map[reflect.Type]any{}}
	for _, p := range provided {
		h.values[p.typ] = p.value
	}
	return h
}

// Context is what Provision receives: the build's context.Context, the
// element's logger and the host's resources.
type Context struct {
	context.Context
	host   *Host
	logger *slog.Logger
}

// NewContext makes the Context of a build. h may be nil: no resources, and
// a logger that discards.
func NewContext(parent context.Context, h *Host) Context {
	c := Context{Context: parent, host: h}
	if h != nil {
		c.logger = h.logger
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Logger is the element's logger; Build adds the element's full name to it.
func (c Context) Logger() *slog.Logger {
	if c.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.logger
}

// WithLogger returns c with another logger.
func (c Context) WithLogger(l *slog.Logger) Context {
	c.logger = l
	return c
}

// Lookup returns the resource the host provided as a T (see Provide), and
// whether it provided one. A T provided as nil is found, and nil.
func Lookup[T any](c Context) (T, bool) {
	var zero T
	if c.host == nil {
		return zero, false
	}
	v, ok := c.host.values[reflect.TypeFor[T]()]
	if !ok || v == nil {
		return zero, ok
	}
	return v.(T), true
}
