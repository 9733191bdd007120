package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// listProperties answers GET /crm/v3/properties/{objectType}.
func (s *Server) listProperties(c *call, ot *objectType) reply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	results := make([]propertyJSON, len(ot.order))
	for i, d := range ot.order {
		results[i] = d.json()
	}
	return jsonReply(http.StatusOK, map[string][]propertyJSON{"results": results})
}

// getProperty answers GET /crm/v3/properties/{objectType}/{propertyName}.
func (s *Server) getProperty(c *call, ot *objectType, name string) reply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := ot.props[name]
	if !ok {
		// The category and subCategory are HubSpot's; the message is the simulator's.
		return jsonReply(http.StatusNotFound, errorBody{Status: "error", CorrelationID: c.correlation,
			Message:  fmt.Sprintf("Property %s does not exist for object type %s", name, ot.typeID),
			Category: categoryNotFound, SubCategory: "PROPERTY_DOESNT_EXIST"})
	}
	return jsonReply(http.StatusOK, d.json())
}

// propertyInput is the body of POST /crm/v3/properties/{objectType}.
type propertyInput struct {
	Name            string `json:"name"`
	Label           string `json:"label"`
	Type            string `json:"type"`
	FieldType       string `json:"fieldType"`
	GroupName       string `json:"groupName"`
	Description     string `json:"description"`
	HasUniqueValue  bool   `json:"hasUniqueValue"`
	Hidden          bool   `json:"hidden"`
	ExternalOptions bool   `json:"externalOptions"`
	Options         []struct {
		Label        string `json:"label"`
		Value        string `json:"value"`
		DisplayOrder int    `json:"displayOrder"`
		Hidden       bool   `json:"hidden"`
	} `json:"options"`
}

// createProperty answers POST /crm/v3/properties/{objectType} with 201 and the
// new definition.
func (s *Server) createProperty(c *call, ot *objectType) reply {
	var in propertyInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		return c.badJSON(err)
	}
	required := []struct{ field, value string }{
		{"name", in.Name}, {"label", in.Label}, {"type", in.Type}, {"fieldType", in.FieldType}, {"groupName", in.GroupName},
	}
	for _, r := range required {
		if r.value == "" {
			return c.fail(http.StatusBadRequest, categoryValidation, fmt.Sprintf("Invalid input JSON: %s is required", r.field))
		}
	}
	p := Property{Name: in.Name, Label: in.Label, Type: in.Type, FieldType: in.FieldType, GroupName: in.GroupName,
		Description: in.Description, HasUniqueValue: in.HasUniqueValue, Hidden: in.Hidden, ExternalOptions: in.ExternalOptions}
	for _, o := range in.Options {
		p.Options = append(p.Options, Option{Label: o.Label, Value: o.Value, DisplayOrder: o.DisplayOrder, Hidden: o.Hidden})
	}
	if err := p.check(); err != nil {
		return c.fail(http.StatusBadRequest, categoryValidation, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := ot.props[p.Name]; ok {
		return c.fail(http.StatusConflict, categoryExists, fmt.Sprintf("A property named %q already exists for object type %s", p.Name, ot.typeID))
	}
	if err := ot.addProperty(p, instant(s.opts.Now())); err != nil {
		return c.fail(http.StatusBadRequest, categoryValidation, err.Error())
	}
	return jsonReply(http.StatusCreated, ot.props[p.Name].json())
}
