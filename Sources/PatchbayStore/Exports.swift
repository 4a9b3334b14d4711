// Every module that imports the store sees the shared values (and, later, the shared model) as if
// the store declared them: their call sites do not change when a type moves down a layer.
@_exported import PatchbayValues
@_exported import PatchbayModel
