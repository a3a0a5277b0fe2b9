// Package yamldecode decodes YAML into Go structs by walking yaml.v3 nodes
// itself, so that every problem is reported with the line it is on and the
// path of the field it concerns ("participants[0].downlnk: unknown field
// \"downlnk\"; did you mean \"downlink\"?"), all of them at once, without
// parsing yaml.v3's error strings. Struct fields are named by their yaml
// tags (",inline" embeds a struct's fields); types with an UnmarshalYAML
// method on *yaml.Node decode themselves, and errors they return as *Error
// are placed under the field being decoded.
//
// Scenarios (package scenarios) and matrix files (package matrix) both
// decode through it.
package yamldecode
