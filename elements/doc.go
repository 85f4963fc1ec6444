// Package elements is the element model: what an element folder declares
// (Definition), what kind of element it is (Meta, Type, instance), how a
// Type's Go behaviour is registered (RegisterType), and how an instance's
// configuration is merged over its Type chain and validated (Schema).
//
// It knows nothing about folders on disk, watching or snapshots; that is
// the runtime package's job.
package elements
