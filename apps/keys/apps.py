from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "apps.keys"
    label = "keys"

    def ready(self):
        from apps.keys import openapi  # noqa: F401 (registers the schema of a new property's keys)
        from apps.keys.apis import property_keys_created_data
        from apps.keys.services import property_keys_create
        from apps.keys.views import keys_settings_context
        from apps.properties.hooks import (
            FirstKeys,
            SettingsSection,
            first_keys_register,
            settings_section_register,
        )

        first_keys_register(FirstKeys(create=property_keys_create, api_data=property_keys_created_data))
        settings_section_register(SettingsSection("keys/_settings_keys.html", keys_settings_context))
