{% macro fullname() %}{{ Release.Name }}-full{% endmacro %}
