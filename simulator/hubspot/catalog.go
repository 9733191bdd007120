package hubspot

import "strings"

// The default property catalogues: a subset of what a new HubSpot account has,
// with HubSpot's names, types, field types and option values. Tests add their own
// with AddProperty or POST /crm/v3/properties/{objectType}.

func text(name, label, group string) Property {
	return Property{Name: name, Label: label, Type: "string", FieldType: "text", GroupName: group, HubSpotDefined: true}
}

func textarea(name, label, group string) Property {
	p := text(name, label, group)
	p.FieldType = "textarea"
	return p
}

func phone(name, label, group string) Property {
	p := text(name, label, group)
	p.FieldType = "phonenumber"
	return p
}

func number(name, label, group string) Property {
	return Property{Name: name, Label: label, Type: "number", FieldType: "number", GroupName: group, HubSpotDefined: true}
}

func datetime(name, label, group string) Property {
	return Property{Name: name, Label: label, Type: "datetime", FieldType: "date", GroupName: group, HubSpotDefined: true}
}

// enum is an enumeration whose options are "value=Label" pairs.
func enum(name, label, group, fieldType string, pairs ...string) Property {
	p := Property{Name: name, Label: label, Type: "enumeration", FieldType: fieldType, GroupName: group, HubSpotDefined: true}
	for i, pair := range pairs {
		value, lab, _ := strings.Cut(pair, "=")
		p.Options = append(p.Options, Option{Label: lab, Value: value, DisplayOrder: i})
	}
	return p
}

// external is an enumeration whose options live elsewhere (owners, pipelines).
func external(name, label, group string) Property {
	p := enum(name, label, group, "select")
	p.ExternalOptions = true
	return p
}

func calculated(p Property) Property {
	p.ReadOnly, p.Calculated = true, true
	return p
}

func readOnly(p Property) Property {
	p.ReadOnly = true
	return p
}

var lifecycleStages = []string{
	"subscriber=Subscriber", "lead=Lead", "marketingqualifiedlead=Marketing Qualified Lead",
	"salesqualifiedlead=Sales Qualified Lead", "opportunity=Opportunity", "customer=Customer",
	"evangelist=Evangelist", "other=Other",
}

func contactProperties() []Property {
	const info = "contactinformation"
	return []Property{
		text("email", "Email", info),
		text("firstname", "First Name", info),
		text("lastname", "Last Name", info),
		phone("phone", "Phone Number", info),
		phone("mobilephone", "Mobile Phone Number", info),
		text("fax", "Fax Number", info),
		text("company", "Company Name", info),
		text("website", "Website URL", info),
		text("jobtitle", "Job Title", info),
		text("industry", "Industry", info),
		text("annualrevenue", "Annual Revenue", info),
		enum("numemployees", "Number of Employees", info, "select",
			"1-5=1-5", "5-25=5-25", "25-50=25-50", "50-100=50-100", "100-500=100-500",
			"500-1000=500-1000", "1000+=1000+"),
		text("address", "Street Address", info),
		text("city", "City", info),
		text("state", "State/Region", info),
		text("zip", "Postal Code", info),
		text("country", "Country/Region", info),
		text("date_of_birth", "Date of birth", info),
		textarea("message", "Message", info),
		enum("lifecyclestage", "Lifecycle Stage", info, "radio", lifecycleStages...),
		enum("hs_lead_status", "Lead Status", "sales_properties", "radio",
			"NEW=New", "OPEN=Open", "IN_PROGRESS=In Progress", "OPEN_DEAL=Open Deal",
			"UNQUALIFIED=Unqualified", "ATTEMPTED_TO_CONTACT=Attempted to Contact",
			"CONNECTED=Connected", "BAD_TIMING=Bad Timing"),
		external("hubspot_owner_id", "Contact owner", "sales_properties"),
		calculated(number("hs_object_id", "Record ID", info)),
		readOnly(datetime("createdate", "Create Date", info)),
		readOnly(datetime("lastmodifieddate", "Last Modified Date", info)),
		calculated(datetime("hs_createdate", "Object create date/time", info)),
		calculated(datetime("hs_lastmodifieddate", "Object last modified date/time", info)),
		calculated(text("hs_email_domain", "Email Domain", "emailinformation")),
		calculated(number("num_associated_deals", "Associated Deals", "deal_information")),
		calculated(number("hubspotscore", "HubSpot Score", info)),
	}
}

func companyProperties() []Property {
	const info = "companyinformation"
	return []Property{
		text("name", "Company name", info),
		text("domain", "Company Domain Name", info),
		enum("industry", "Industry", info, "select", industries()...),
		enum("type", "Type", info, "select",
			"PROSPECT=Prospect", "PARTNER=Partner", "RESELLER=Reseller", "VENDOR=Vendor", "OTHER=Other"),
		phone("phone", "Phone Number", info),
		text("address", "Street Address", info),
		text("city", "City", info),
		text("state", "State/Region", info),
		text("zip", "Postal Code", info),
		text("country", "Country/Region", info),
		text("website", "Website URL", info),
		textarea("description", "Description", info),
		number("numberofemployees", "Number of Employees", info),
		number("annualrevenue", "Annual Revenue", info),
		text("founded_year", "Year Founded", info),
		text("timezone", "Time Zone", info),
		text("linkedin_company_page", "LinkedIn Company Page", "socialmediainformation"),
		enum("lifecyclestage", "Lifecycle Stage", info, "radio", lifecycleStages...),
		external("hubspot_owner_id", "Company owner", info),
		calculated(number("hs_object_id", "Record ID", info)),
		readOnly(datetime("createdate", "Create Date", info)),
		calculated(datetime("hs_lastmodifieddate", "Last Modified Date", info)),
		calculated(number("num_associated_contacts", "Number of Associated Contacts", info)),
	}
}

func dealProperties() []Property {
	const info = "dealinformation"
	return []Property{
		text("dealname", "Deal Name", info),
		number("amount", "Amount", info),
		enum("dealstage", "Deal Stage", info, "radio",
			"appointmentscheduled=Appointment Scheduled", "qualifiedtobuy=Qualified To Buy",
			"presentationscheduled=Presentation Scheduled", "decisionmakerboughtin=Decision Maker Bought-In",
			"contractsent=Contract Sent", "closedwon=Closed Won", "closedlost=Closed Lost"),
		enum("pipeline", "Pipeline", info, "select", "default=Sales Pipeline"),
		datetime("closedate", "Close Date", info),
		enum("dealtype", "Deal Type", info, "radio", "newbusiness=New Business", "existingbusiness=Existing Business"),
		enum("hs_priority", "Priority", info, "radio", "low=Low", "medium=Medium", "high=High"),
		textarea("description", "Deal Description", info),
		external("hubspot_owner_id", "Deal owner", info),
		calculated(number("hs_object_id", "Record ID", info)),
		readOnly(datetime("createdate", "Create Date", info)),
		calculated(datetime("hs_lastmodifieddate", "Last Modified Date", info)),
		calculated(number("days_to_close", "Days to close", info)),
		calculated(Property{Name: "hs_is_closed", Label: "Is Deal Closed?", Type: "bool", FieldType: "booleancheckbox",
			GroupName: info, HubSpotDefined: true}),
	}
}

// customSystemProperties are the read-only properties every custom object has.
func customSystemProperties() []Property {
	const info = "custom_object_information"
	return []Property{
		calculated(number("hs_object_id", "Record ID", info)),
		calculated(datetime("hs_createdate", "Object create date/time", info)),
		calculated(datetime("hs_lastmodifieddate", "Object last modified date/time", info)),
	}
}

// industries are the company industry options: HubSpot's LinkedIn-derived list
// (values written from HubSpot's naming; unconfirmed against a live account).
func industries() []string {
	values := strings.Fields(`ACCOUNTING AIRLINES_AVIATION ALTERNATIVE_DISPUTE_RESOLUTION ALTERNATIVE_MEDICINE
	ANIMATION APPAREL_FASHION ARCHITECTURE_PLANNING ARTS_AND_CRAFTS AUTOMOTIVE AVIATION_AEROSPACE BANKING
	BIOTECHNOLOGY BROADCAST_MEDIA BUILDING_MATERIALS BUSINESS_SUPPLIES_AND_EQUIPMENT CAPITAL_MARKETS CHEMICALS
	CIVIC_SOCIAL_ORGANIZATION CIVIL_ENGINEERING COMMERCIAL_REAL_ESTATE COMPUTER_NETWORK_SECURITY COMPUTER_GAMES
	COMPUTER_HARDWARE COMPUTER_NETWORKING COMPUTER_SOFTWARE INTERNET CONSTRUCTION CONSUMER_ELECTRONICS
	CONSUMER_GOODS CONSUMER_SERVICES COSMETICS DAIRY DEFENSE_SPACE DESIGN EDUCATION_MANAGEMENT E_LEARNING
	ELECTRICAL_ELECTRONIC_MANUFACTURING ENTERTAINMENT ENVIRONMENTAL_SERVICES EVENTS_SERVICES EXECUTIVE_OFFICE
	FACILITIES_SERVICES FARMING FINANCIAL_SERVICES FINE_ART FISHERY FOOD_BEVERAGES FOOD_PRODUCTION FUND_RAISING
	FURNITURE GAMBLING_CASINOS GLASS_CERAMICS_CONCRETE GOVERNMENT_ADMINISTRATION GOVERNMENT_RELATIONS
	GRAPHIC_DESIGN HEALTH_WELLNESS_AND_FITNESS HIGHER_EDUCATION HOSPITAL_HEALTH_CARE HOSPITALITY HUMAN_RESOURCES
	IMPORT_AND_EXPORT INDIVIDUAL_FAMILY_SERVICES INDUSTRIAL_AUTOMATION INFORMATION_SERVICES
	INFORMATION_TECHNOLOGY_AND_SERVICES INSURANCE INTERNATIONAL_AFFAIRS INTERNATIONAL_TRADE_AND_DEVELOPMENT
	INVESTMENT_BANKING INVESTMENT_MANAGEMENT JUDICIARY LAW_ENFORCEMENT LAW_PRACTICE LEGAL_SERVICES
	LEGISLATIVE_OFFICE LEISURE_TRAVEL_TOURISM LIBRARIES LOGISTICS_AND_SUPPLY_CHAIN LUXURY_GOODS_JEWELRY
	MACHINERY MANAGEMENT_CONSULTING MARITIME MARKET_RESEARCH MARKETING_AND_ADVERTISING
	MECHANICAL_OR_INDUSTRIAL_ENGINEERING MEDIA_PRODUCTION MEDICAL_DEVICES MEDICAL_PRACTICE MENTAL_HEALTH_CARE
	MILITARY MINING_METALS MOBILE_GAMES MOTION_PICTURES_AND_FILM MUSEUMS_AND_INSTITUTIONS MUSIC NANOTECHNOLOGY
	NEWSPAPERS NON_PROFIT_ORGANIZATION_MANAGEMENT OIL_ENERGY ONLINE_MEDIA OUTSOURCING_OFFSHORING
	PACKAGE_FREIGHT_DELIVERY PACKAGING_AND_CONTAINERS PAPER_FOREST_PRODUCTS PERFORMING_ARTS PHARMACEUTICALS
	PHILANTHROPY PHOTOGRAPHY PLASTICS POLITICAL_ORGANIZATION PRIMARY_SECONDARY_EDUCATION PRINTING
	PROFESSIONAL_TRAINING_COACHING PROGRAM_DEVELOPMENT PUBLIC_POLICY PUBLIC_RELATIONS_AND_COMMUNICATIONS
	PUBLIC_SAFETY PUBLISHING RAILROAD_MANUFACTURE RANCHING REAL_ESTATE RECREATIONAL_FACILITIES_AND_SERVICES
	RELIGIOUS_INSTITUTIONS RENEWABLES_ENVIRONMENT RESEARCH RESTAURANTS RETAIL SECURITY_AND_INVESTIGATIONS
	SEMICONDUCTORS SHIPBUILDING SPORTING_GOODS SPORTS STAFFING_AND_RECRUITING SUPERMARKETS TELECOMMUNICATIONS
	TEXTILES THINK_TANKS TOBACCO TRANSLATION_AND_LOCALIZATION TRANSPORTATION_TRUCKING_RAILROAD UTILITIES
	VENTURE_CAPITAL_PRIVATE_EQUITY VETERINARY WAREHOUSING WHOLESALE WINE_AND_SPIRITS WIRELESS
	WRITING_AND_EDITING`)
	pairs := make([]string, len(values))
	for i, v := range values {
		words := strings.Split(strings.ToLower(v), "_")
		for j, w := range words {
			if w != "and" {
				words[j] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		pairs[i] = v + "=" + strings.Join(words, " ")
	}
	return pairs
}
