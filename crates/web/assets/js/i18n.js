//! English and Arabic: the strings of every page, the text direction, and numerals (Latin or
//! Arabic-Indic, the user's choice, kept in localStorage with the language).

const STRINGS = {
  en: {
    app: "Tandem", map: "Map", report: "New report", coalition: "Coalition", alerts: "Alerts",
    logout: "Log out", login: "Log in", username: "User name", password: "Password",
    login_title: "Log in to this node", login_failed: "Wrong user name or password.",
    throttled: "Too many failed attempts; try again in {s} s.", language: "Language",
    numerals: "Arabic-Indic numerals", filters: "Filters", from: "From", to: "To",
    event_type: "Event type", all: "All", cell: "Cell", grading: "Source grading", member: "Reporting member",
    incidents_shown: "{n} of {t} incidents", spikes: "Spikes", hotspots: "Hot spots",
    zones: "Watch zones", zone_draw: "Draw a zone", zone_radius: "Radius zone",
    zone_polygon: "Polygon zone", zone_name: "Zone name", zone_delete: "Delete",
    zone_hint: "Click on the map to place the zone; for a polygon click each corner, then Finish.",
    finish: "Finish", cancel: "Cancel", radius_km: "Radius (km)", approx_gov:
      "Governorate areas are approximate (derived from the gazetteer's places, cut at the borders).",
    timeline: "Timeline (weekly counts; drag to select a window)", uncertain: "uncertain dates",
    legend: "Legend", fatalities: "Fatalities", title: "Title", date: "Date", place: "Place",
    precision: "Precision", sources: "Sources", who_can_see: "Who can see this",
    withheld: "withheld", versions: "Versions", diff: "Changes from the previous version",
    linked_cells: "Linked cells", correlated: "Possibly the same event (other members)",
    merge: "Merge as duplicate", undo: "Undo merge", score: "score", edit: "Edit",
    no_results: "Nothing found.", search_place: "Place (Arabic or Latin)", search: "Search",
    search_help: "Words must all match; \"a phrase\" in order; word* as a prefix. Spellings of a place match in Arabic and Latin.",
    more: "More", report_type: "Report", incident_type: "Incident",
    window_start: "Earliest date", window_end: "Latest date", date_precision: "Date precision",
    actors: "Actors", actor_name: "Actor", role: "Role", add: "Add", remove: "Remove",
    casualties: "Fatalities (best / low / high)", best: "Best", low: "Low", high: "High",
    materiel: "Materiel", item: "Item", quantity: "Quantity", action: "Action",
    source_name: "Source", reliability: "Reliability", credibility: "Credibility",
    releasability: "Releasability", preview: "Will be received by", submit: "Submit report",
    paste: "Paste a news text", extract: "Fill in from text", extract_missing:
      "Text extraction is not available on this node.", saved: "Report stored.",
    sub_event_type: "Sub-event type", notes: "Notes", tlp: "TLP",
    roster: "Roster", peers: "Peers", node: "This node", status: "Status", joined: "Joined",
    last_contact: "Last contact", lag: "Lag", version: "Version", uptime: "Uptime",
    live: "Live", connected: "connected", disconnected: "reconnecting…",
    new_incident: "New incident", zone_alert: "Watch-zone alert", track: "Track",
    steps: "Incidents in time order", hull_area: "Area of the hull", not_found: "Not found (or not released to you).",
    place_precision: { 1: "town", 2: "near a town", 3: "region", admin: "governorate only" },
    groups: "Groups", members: "Members", required: "required", open: "Open",
    at_least_one_rel: "Choose at least one releasability or TLP marking.",
    zone_edit: "Edit", zone_saved: "Zone saved", zone_centre: "Zone centre", zone_edge: "Zone edge (radius)",
    zone_corner: "Corner {n}", zone_handle_keys: "arrow keys move it, with Shift in larger steps",
    zone_edit_hint: "Drag the handles on the map, move them with the arrow keys, or type the coordinates.",
    latitude: "Latitude", longitude: "Longitude", save: "Save",
    zone_kind_radius: "radius", zone_kind_polygon: "polygon", zone_kind_governorate: "governorate", zone_kind_area: "named area",
    list: "Incident list", hot: "hot spot", cold: "cold spot",
    injured: "Injured", arrested: "Arrested", flags: "Claimed only / confirmed / civilians targeted", yes: "yes", no: "no",
    description: "Description", markings: "Markings", id_version: "Id / version", first_version: "first version", url: "Link",
    who_none: "No member receives it.", who_all: "Every active member ({n}) receives it.",
    who_originator: "Only {name} (the originator) receives it.", who_some: "Received by {names}.",
    who_cleared: "Only their users cleared to {c} or above see it.",
    reason_km: "{km} km apart", reason_overlap: "time windows overlap by {n} day(s)", reason_actors: "shared actors: {a}",
    merged: "Merged", merges: "Confirmed merges", duplicate_of: "is a duplicate of", store: "Storage", code: "Code", name: "Name", uptime_value: "{h} h {m} min", lag_value: "{o} objects / {s} s",
    km_days: "{km} km / {d} days", start_after_end: "The earliest date must not be after the latest date.",
    low_gt_best: "Low must not exceed best.", high_lt_best: "High must not be below best.", remove_row: "Remove this row",
    match: { inside: "inside the zone", may_be_inside: "may be inside the zone", outside: "outside the zone" },
    date_precisions: { day: "day", days: "days", week: "week", month: "month", year: "year" },
    roles: { perpetrator: "perpetrator", target: "target", responder: "responder", claimant: "claimant", other: "other" },
    actions: { seized: "seized", destroyed: "destroyed" },
    statuses: { active: "active", suspended: "suspended", removed: "removed", failing: "failing", connecting: "connecting",
      syncing: "syncing", ok: "up to date" },
    classifications: { UNCLASSIFIED: "UNCLASSIFIED", RESTRICTED: "RESTRICTED", CONFIDENTIAL: "CONFIDENTIAL", SECRET: "SECRET" },
    peer: "Member", overlays: "Overlays", cluster: "Cluster (count of incidents)", area: "Place uncertainty (area)",
    interop: "Import / export", io_import_title: "Import a file", io_export_title: "Download an export",
    io_import_help: "The file is converted on the node. A dry run shows what would be stored and every row or record that would be rejected, and why; nothing is stored until you import.",
    io_export_help: "What you may see, converted on the node; incidents only for CSV and MISP.",
    io_file: "File", io_format: "Format", io_format_csv: "ACLED-style CSV", io_format_misp: "MISP events (JSON)", io_format_stix: "STIX 2.1 bundle",
    io_csv_markings_help: "CSV rows carry no releasability: the markings chosen are set on every row. Without any, only your member receives them.",
    io_deletions: "This is a deletions file (event_id_cnty, deleted_timestamp): revoke those incidents",
    io_mapping: "MISP distribution mapping", io_mapping_help: "Member or group codes for each level. Level 0 is your member alone; a level left empty is refused, never widened.",
    io_dist_1: "Distribution 1 (this community)", io_dist_2: "Distribution 2 (connected communities)", io_dist_3: "Distribution 3 (all communities)",
    io_dist_4: "Sharing groups (one per line: uuid, id or name = codes)", io_bad_group_line: "Sharing groups, line {n}: write it as key = CODE, CODE.",
    io_dry_run: "Dry run", io_import: "Import", io_choose_file: "Choose a file first.", io_dry_first: "Run a dry run of this file and these options first.",
    io_checking: "Checking…", io_importing: "Importing…", io_dry_done: "Dry run done: nothing was stored.", io_import_done: "Imported: {n} objects stored.",
    io_too_large: "The file is larger than this node accepts.", io_failed: "Failed",
    io_dry_report: "Dry run report", io_import_report: "Import report", io_rejected: "Rejected ({n})", io_not_carried: "Not carried ({n})",
    io_planned: "Would be stored ({n})", io_more: "… and {n} more", io_none: "None.", io_line: "line {n}", io_index: "record {n}",
    io_types: "STIX types (comma-separated)", io_added_after: "Added to this node after", io_since: "Versions from", io_until: "Versions until",
    io_all_versions: "Every version, not only the latest", io_download: "Download", io_exporting: "Exporting…", io_downloaded: "Downloaded {name} ({n} bytes).",
  },
  ar: {
    app: "تاندم", map: "الخريطة", report: "تقرير جديد", coalition: "التحالف", alerts: "التنبيهات",
    logout: "تسجيل الخروج", login: "تسجيل الدخول", username: "اسم المستخدم", password: "كلمة المرور",
    login_title: "تسجيل الدخول إلى هذه العقدة", login_failed: "اسم المستخدم أو كلمة المرور غير صحيحة.",
    throttled: "محاولات فاشلة كثيرة؛ أعد المحاولة بعد {s} ثانية.", language: "اللغة",
    numerals: "أرقام عربية هندية", filters: "عوامل التصفية", from: "من", to: "إلى",
    event_type: "نوع الحدث", all: "الكل", cell: "الخلية", grading: "تقييم المصدر", member: "العضو المبلِّغ",
    incidents_shown: "{n} من {t} حادثة", spikes: "الارتفاعات المفاجئة", hotspots: "النقاط الساخنة",
    zones: "مناطق المراقبة", zone_draw: "ارسم منطقة", zone_radius: "منطقة بنصف قطر",
    zone_polygon: "منطقة مضلعة", zone_name: "اسم المنطقة", zone_delete: "حذف",
    zone_hint: "انقر على الخريطة لوضع المنطقة؛ للمضلع انقر كل زاوية ثم إنهاء.",
    finish: "إنهاء", cancel: "إلغاء", radius_km: "نصف القطر (كم)", approx_gov:
      "حدود المحافظات تقريبية (مشتقة من أماكن المعجم الجغرافي ومقصوصة عند الحدود الدولية).",
    timeline: "الخط الزمني (أعداد أسبوعية؛ اسحب لاختيار فترة)", uncertain: "تواريخ غير مؤكدة",
    legend: "المفتاح", fatalities: "القتلى", title: "العنوان", date: "التاريخ", place: "المكان",
    precision: "الدقة", sources: "المصادر", who_can_see: "من يمكنه رؤية هذا",
    withheld: "محجوب", versions: "الإصدارات", diff: "التغييرات عن الإصدار السابق",
    linked_cells: "الخلايا المرتبطة", correlated: "ربما الحدث نفسه (أعضاء آخرون)",
    merge: "دمج كمكرر", undo: "تراجع عن الدمج", score: "الدرجة", edit: "تعديل",
    no_results: "لم يُعثر على شيء.", search_place: "المكان (بالعربية أو اللاتينية)", search: "بحث",
    search_help: "يجب أن تتطابق كل الكلمات؛ \"عبارة\" بالترتيب؛ كلمة* كبادئة. تتطابق تهجئات المكان بالعربية واللاتينية.",
    more: "المزيد", report_type: "تقرير", incident_type: "حادثة",
    window_start: "أبكر تاريخ", window_end: "آخر تاريخ", date_precision: "دقة التاريخ",
    actors: "الفاعلون", actor_name: "الفاعل", role: "الدور", add: "إضافة", remove: "إزالة",
    casualties: "القتلى (الأرجح / الأدنى / الأعلى)", best: "الأرجح", low: "الأدنى", high: "الأعلى",
    materiel: "العتاد", item: "الصنف", quantity: "الكمية", action: "الإجراء",
    source_name: "المصدر", reliability: "الموثوقية", credibility: "المصداقية",
    releasability: "قابلية الإفراج", preview: "سيستلمه", submit: "إرسال التقرير",
    paste: "الصق نصاً إخبارياً", extract: "املأ من النص", extract_missing:
      "استخراج النص غير متاح على هذه العقدة.", saved: "حُفظ التقرير.",
    sub_event_type: "النوع الفرعي", notes: "ملاحظات", tlp: "بروتوكول إشارة المرور",
    roster: "قائمة الأعضاء", peers: "النظراء", node: "هذه العقدة", status: "الحالة", joined: "تاريخ الانضمام",
    last_contact: "آخر اتصال", lag: "التأخر", version: "الإصدار", uptime: "مدة التشغيل",
    live: "مباشر", connected: "متصل", disconnected: "إعادة الاتصال…",
    new_incident: "حادثة جديدة", zone_alert: "تنبيه منطقة مراقبة", track: "المسار",
    steps: "الحوادث بالترتيب الزمني", hull_area: "مساحة الغلاف", not_found: "غير موجود (أو غير مُفرج عنه لك).",
    place_precision: { 1: "بلدة", 2: "قرب بلدة", 3: "منطقة", admin: "المحافظة فقط" },
    groups: "المجموعات", members: "الأعضاء", required: "مطلوب", open: "فتح",
    at_least_one_rel: "اختر علامة إفراج أو TLP واحدة على الأقل.",
    zone_edit: "تعديل", zone_saved: "حُفظت المنطقة", zone_centre: "مركز المنطقة", zone_edge: "حافة المنطقة (نصف القطر)",
    zone_corner: "الزاوية {n}", zone_handle_keys: "تحرّكه مفاتيح الأسهم، ومع مفتاح التبديل بخطوات أكبر",
    zone_edit_hint: "اسحب المقابض على الخريطة أو حرّكها بمفاتيح الأسهم أو اكتب الإحداثيات.",
    latitude: "خط العرض", longitude: "خط الطول", save: "حفظ",
    zone_kind_radius: "نصف قطر", zone_kind_polygon: "مضلع", zone_kind_governorate: "محافظة", zone_kind_area: "منطقة مسماة",
    list: "قائمة الحوادث", hot: "نقطة ساخنة", cold: "نقطة باردة",
    injured: "الجرحى", arrested: "المعتقلون", flags: "ادعاء فقط / مؤكد / استهداف مدنيين", yes: "نعم", no: "لا",
    description: "الوصف", markings: "العلامات", id_version: "المعرّف / الإصدار", first_version: "الإصدار الأول", url: "الرابط",
    who_none: "لا يستلمه أي عضو.", who_all: "يستلمه كل الأعضاء النشطين ({n}).",
    who_originator: "لا يستلمه إلا {name} (المُنشئ).", who_some: "يستلمه: {names}.",
    who_cleared: "ولا يراه من مستخدميهم إلا المخوَّلون بمستوى {c} أو أعلى.",
    reason_km: "على بعد {km} كم", reason_overlap: "تتداخل الفترتان الزمنيتان {n} يوماً", reason_actors: "فاعلون مشتركون: {a}",
    merged: "دُمج", merges: "عمليات الدمج المؤكدة", duplicate_of: "مكرر لـ", store: "التخزين", code: "الرمز", name: "الاسم", uptime_value: "{h} س {m} د", lag_value: "{o} كائناً / {s} ث",
    km_days: "{km} كم / {d} يوماً", start_after_end: "يجب ألا يكون أبكر تاريخ بعد آخر تاريخ.",
    low_gt_best: "يجب ألا يتجاوز الأدنى الأرجح.", high_lt_best: "يجب ألا يقل الأعلى عن الأرجح.", remove_row: "إزالة هذا السطر",
    match: { inside: "داخل المنطقة", may_be_inside: "ربما داخل المنطقة", outside: "خارج المنطقة" },
    date_precisions: { day: "يوم", days: "أيام", week: "أسبوع", month: "شهر", year: "سنة" },
    roles: { perpetrator: "مرتكب", target: "مستهدَف", responder: "مستجيب", claimant: "مُدَّعٍ", other: "آخر" },
    actions: { seized: "مضبوط", destroyed: "مدمَّر" },
    statuses: { active: "نشط", suspended: "معلَّق", removed: "مُزال", failing: "متعثر", connecting: "جارٍ الاتصال",
      syncing: "جارٍ المزامنة", ok: "محدَّث" },
    classifications: { UNCLASSIFIED: "غير مصنَّف", RESTRICTED: "مقيَّد", CONFIDENTIAL: "سري", SECRET: "سري للغاية" },
    peer: "العضو", overlays: "الطبقات", cluster: "عنقود (عدد الحوادث)", area: "عدم دقة المكان (مساحة)",
    interop: "استيراد / تصدير", io_import_title: "استيراد ملف", io_export_title: "تنزيل تصدير",
    io_import_help: "يُحوَّل الملف على العقدة. يعرض التشغيل التجريبي ما سيُخزَّن وكل صف أو سجل سيُرفض ولماذا؛ لا يُخزَّن شيء حتى تستورد.",
    io_export_help: "ما يحق لك رؤيته، محوَّلًا على العقدة؛ الحوادث فقط في صيغتي CSV وMISP.",
    io_file: "الملف", io_format: "الصيغة", io_format_csv: "CSV على نمط ACLED", io_format_misp: "أحداث MISP (JSON)", io_format_stix: "حزمة STIX 2.1",
    io_csv_markings_help: "لا تحمل صفوف CSV قابلية الإفراج: تُطبَّق العلامات المختارة على كل صف. من دونها لا يتلقاها إلا عضوك.",
    io_deletions: "هذا ملف حذف (event_id_cnty وdeleted_timestamp): إلغاء تلك الحوادث",
    io_mapping: "مطابقة مستويات التوزيع في MISP", io_mapping_help: "رموز الأعضاء أو المجموعات لكل مستوى. المستوى 0 عضوك وحده؛ المستوى المتروك فارغًا يُرفض ولا يُوسَّع أبدًا.",
    io_dist_1: "التوزيع 1 (هذا المجتمع)", io_dist_2: "التوزيع 2 (المجتمعات المتصلة)", io_dist_3: "التوزيع 3 (كل المجتمعات)",
    io_dist_4: "مجموعات المشاركة (واحدة في كل سطر: المعرّف أو الرقم أو الاسم = الرموز)", io_bad_group_line: "مجموعات المشاركة، السطر {n}: اكتبه بالشكل مفتاح = رمز، رمز.",
    io_dry_run: "تشغيل تجريبي", io_import: "استيراد", io_choose_file: "اختر ملفًا أولًا.", io_dry_first: "شغّل تشغيلًا تجريبيًا لهذا الملف وهذه الخيارات أولًا.",
    io_checking: "جارٍ الفحص…", io_importing: "جارٍ الاستيراد…", io_dry_done: "انتهى التشغيل التجريبي: لم يُخزَّن شيء.", io_import_done: "تم الاستيراد: خُزِّن {n} كائنًا.",
    io_too_large: "الملف أكبر مما تقبله هذه العقدة.", io_failed: "فشل",
    io_dry_report: "تقرير التشغيل التجريبي", io_import_report: "تقرير الاستيراد", io_rejected: "المرفوض ({n})", io_not_carried: "ما لم يُنقل ({n})",
    io_planned: "ما سيُخزَّن ({n})", io_more: "… و{n} غيرها", io_none: "لا شيء.", io_line: "السطر {n}", io_index: "السجل {n}",
    io_types: "أنواع STIX (مفصولة بفواصل)", io_added_after: "أُضيف إلى هذه العقدة بعد", io_since: "الإصدارات من", io_until: "الإصدارات حتى",
    io_all_versions: "كل الإصدارات، لا الأحدث فقط", io_download: "تنزيل", io_exporting: "جارٍ التصدير…", io_downloaded: "نُزِّل {name} ({n} بايت).",
  },
};

const EVENT_AR = {
  "Battles": "معارك", "Explosions/Remote violence": "انفجارات/عنف عن بعد",
  "Violence against civilians": "عنف ضد المدنيين", "Protests": "احتجاجات", "Riots": "أعمال شغب",
  "Strategic developments": "تطورات استراتيجية",
};

export const prefs = {
  lang: localStorage.getItem("tandem.lang") || "en",
  arabicDigits: localStorage.getItem("tandem.digits") === "ar",
};

export function setLang(lang) {
  prefs.lang = lang === "ar" ? "ar" : "en";
  localStorage.setItem("tandem.lang", prefs.lang);
  applyDir();
}
export function setArabicDigits(on) {
  prefs.arabicDigits = !!on;
  localStorage.setItem("tandem.digits", on ? "ar" : "en");
}

export function applyDir() {
  document.documentElement.lang = prefs.lang;
  document.documentElement.dir = prefs.lang === "ar" ? "rtl" : "ltr";
}

/** A translated string, with `{name}` placeholders filled (numbers through `num`). */
export function t(key, vars = {}) {
  const s = STRINGS[prefs.lang][key] ?? STRINGS.en[key] ?? key;
  if (typeof s !== "string") return s;
  return s.replace(/\{(\w+)\}/g, (_, k) => (typeof vars[k] === "number" ? num(vars[k]) : vars[k] ?? ""));
}

const DIGITS = "٠١٢٣٤٥٦٧٨٩";
/** Digits in the user's numerals; accepts numbers or strings (dates). */
export function num(v) {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 1 }) : String(v);
  const out = prefs.arabicDigits ? s.replace(/[0-9]/g, (d) => DIGITS[d]).replace(/,/g, "٬").replace(/\./g, "٫") : s;
  // Dates and times keep their left-to-right order inside Arabic text (an isolate, not a mark).
  return typeof v === "string" && /\d[-:T]\d/.test(s) ? `\u2066${out}\u2069` : out;
}

export function eventName(ev) {
  return prefs.lang === "ar" ? EVENT_AR[ev] || ev : ev;
}

// ACLED's sub-event types (the report form's options, the incident page).
const SUB_EVENT_AR = {
  "Armed clash": "اشتباك مسلح", "Government regains territory": "استعادة الحكومة لأراضٍ",
  "Non-state actor overtakes territory": "سيطرة جهة غير حكومية على أراضٍ", "Chemical weapon": "سلاح كيميائي",
  "Air/drone strike": "غارة جوية/بطائرة مسيّرة", "Suicide bomb": "تفجير انتحاري",
  "Shelling/artillery/missile attack": "قصف مدفعي/صاروخي", "Remote explosive/landmine/IED": "عبوة ناسفة/لغم أرضي",
  "Grenade": "قنبلة يدوية", "Sexual violence": "عنف جنسي", "Attack": "هجوم",
  "Abduction/forced disappearance": "اختطاف/إخفاء قسري", "Peaceful protest": "احتجاج سلمي",
  "Protest with intervention": "احتجاج مع تدخل", "Excessive force against protesters": "قوة مفرطة ضد المحتجين",
  "Violent demonstration": "مظاهرة عنيفة", "Mob violence": "عنف جماعي", "Agreement": "اتفاق", "Arrests": "اعتقالات",
  "Change to group/activity": "تغيير في جماعة/نشاط", "Disrupted weapons use": "إحباط استخدام أسلحة",
  "Headquarters or base established": "إنشاء مقر أو قاعدة", "Looting/property destruction": "نهب/تدمير ممتلكات",
  "Non-violent transfer of territory": "نقل سلمي للأراضي", "Other": "أخرى",
};
export function subEventName(s) {
  return prefs.lang === "ar" ? SUB_EVENT_AR[s] || s : s;
}

/** A name from one of the vocabulary tables (`roles`, `actions`, ...), the value itself if unknown. */
export function vocab(table, v) {
  const names = t(table);
  return (names && typeof names === "object" && names[v]) || String(v ?? "");
}

export function precisionName(p) {
  const names = t("place_precision");
  return names[p] ?? String(p);
}

/** Every English word (3 letters or more) the UI's English tables hold that no Arabic string
 * also holds (a product name, an acronym): what an Arabic page must not show outside data. */
export function englishWords() {
  const words = (v, out) => {
    if (typeof v === "string") for (const w of v.match(/[A-Za-z]{3,}/g) || []) out.add(w.toLowerCase());
    else if (v && typeof v === "object") Object.values(v).forEach((x) => words(x, out));
    return out;
  };
  const en = words([STRINGS.en, Object.keys(EVENT_AR), Object.keys(SUB_EVENT_AR)], new Set());
  const ar = words([STRINGS.ar, Object.values(EVENT_AR), Object.values(SUB_EVENT_AR)], new Set());
  return [...en].filter((w) => !ar.has(w));
}
