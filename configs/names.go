package configs

import (
	"reflect"
	"strings"
)

// jsonOrder lists a struct's field names in declaration order.
func jsonOrder(v any) []string {
	t := reflect.TypeOf(v)
	out := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		out = append(out, t.Field(i).Name)
	}
	return out
}

// yamlName is the YAML key of an Options field.
func yamlName(field string) string {
	f, ok := reflect.TypeOf(Options{}).FieldByName(field)
	if !ok {
		return field
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
