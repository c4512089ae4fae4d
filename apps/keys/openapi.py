"""The schema of the keys the properties API's answer holds when it creates a property: that app
cannot import the keys' serializer (apps depend one way), so this extension describes its field."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_array_type

from apps.keys.apis import ApiKeyCreatedSerializer


class FirstKeysFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "apps.properties.apis.FirstKeysField"

    def map_serializer_field(self, auto_schema, direction):
        return build_array_type(auto_schema.resolve_serializer(ApiKeyCreatedSerializer, direction).ref)
