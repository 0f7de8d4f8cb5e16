"""The product change form's data as the admin page shows it, inline variants included (for POST tests)."""

import json


def product_form_data(client, url, extra_variant=None):
    context = client.get(url).context
    form = context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(attributes="{}", images="[]", compare_at_price_cents="")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False and v is not None}
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        for row in formset.forms:
            for name, field in row.fields.items():
                value = row.initial.get(name, field.initial)
                if value is None or value is False:
                    continue
                if name == "option_values":
                    value = json.dumps(value)
                data[row.add_prefix(name)] = "on" if value is True else getattr(value, "pk", value)
        if extra_variant:
            index = len(formset.forms)
            data[f"{formset.prefix}-TOTAL_FORMS"] = index + 1
            data.update({f"{formset.prefix}-{index}-{k}": v for k, v in extra_variant.items()})
    return data
