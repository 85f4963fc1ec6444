package elements_test

import (
	"context"
	"testing"

	"github.com/jitwx/jit/elements"
)

type bigCfg struct {
	ID    int64  `json:"id"`
	Label string `json:"label" default:"x"`
}

// A Type with defaults keeps the rest of the config as written: a large
// integer is not rounded through a float64.
func TestDefaultsKeepLargeIntegers(t *testing.T) {
	info := elements.TypeInfo{ID: "demo.big.BigType", Schema: elements.MustSchemaOf[bigCfg](), New: func() any { return new(bigCfg) }}
	inst := &elements.Instance{Config: elements.NewConfig([]byte(`{"id":9007199254740993}`))}
	obj, err := elements.Build(elements.NewContext(context.Background(), nil), info, inst)
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.(*bigCfg).ID; got != 9007199254740993 {
		t.Errorf("id decoded as %d, want 9007199254740993 (config as written)", got)
	}
}
